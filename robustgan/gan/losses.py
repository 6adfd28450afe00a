"""GAN losses: each a small function of the discriminator's outputs, minimised by its player.

Scores are logits for the BCE family (so D(x) = σ(score)), raw critic values for WGAN and hinge,
raw outputs for LSGAN, and reconstruction energies for EBGAN/BEGAN. Every function returns a
scalar that its player (D or G) *minimises*.

The generator losses of the two original GAN games are kept apart on purpose:

* ``minimax_g``: G descends E[log(1 − D(G(z)))] — Goodfellow et al.'s game as written. It
  saturates: when D confidently rejects a sample (score → −∞) its gradient vanishes.
* ``nonsaturating_g``: G descends −E[log D(G(z))] — the heuristic the same paper recommends
  in practice; it has the same fixed point and a strong gradient exactly where minimax has none.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor


def _bce(score: Tensor, target: float) -> Tensor:
    """−[t·log σ(s) + (1 − t)·log(1 − σ(s))], computed stably from the logit s."""
    if target == 1.0:
        return F.softplus(-score)
    return target * F.softplus(-score) + (1.0 - target) * F.softplus(score)


# --- the original game (BCE family) -------------------------------------------------------------

def bce_d(real: Tensor, fake: Tensor, real_label: float = 1.0) -> Tensor:
    """D maximises E[log D(x)] + E[log(1 − D(G(z)))]; ``real_label < 1`` is one-sided label smoothing."""
    return _bce(real, real_label).mean() + F.softplus(fake).mean()


def minimax_g(fake: Tensor) -> Tensor:
    """E[log(1 − D(G(z)))] = −E[softplus(score)]: the saturating generator loss."""
    return -F.softplus(fake).mean()


def nonsaturating_g(fake: Tensor) -> Tensor:
    """−E[log D(G(z))] = E[softplus(−score)]."""
    return F.softplus(-fake).mean()


# --- least squares (Mao et al. 2017, a–b–c = 0–1–1) ---------------------------------------------

def lsgan_d(real: Tensor, fake: Tensor, real_label: float = 1.0) -> Tensor:
    """½E[(D(x) − 1)²] + ½E[D(G(z))²]."""
    return 0.5 * (real - real_label).pow(2).mean() + 0.5 * fake.pow(2).mean()


def lsgan_g(fake: Tensor) -> Tensor:
    """½E[(D(G(z)) − 1)²]."""
    return 0.5 * (fake - 1.0).pow(2).mean()


# --- Wasserstein (Arjovsky et al. 2017; Gulrajani et al. 2017) and hinge (Lim & Ye 2017) --------

def wasserstein_d(real: Tensor, fake: Tensor) -> Tensor:
    """E[D(G(z))] − E[D(x)]: the critic maximises the gap between real and generated scores."""
    return fake.mean() - real.mean()


def wasserstein_g(fake: Tensor) -> Tensor:
    """−E[D(G(z))] (shared by WGAN, WGAN-GP and hinge)."""
    return -fake.mean()


def hinge_d(real: Tensor, fake: Tensor) -> Tensor:
    """E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))]."""
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


# --- energy-based: EBGAN (Zhao et al. 2017) and BEGAN (Berthelot et al. 2017) -----------------

def ebgan_d(real: Tensor, fake: Tensor, margin: float) -> Tensor:
    """E[D(x)] + E[max(0, m − D(G(z)))] on energies D (reconstruction errors)."""
    return real.mean() + F.relu(margin - fake).mean()


def energy_g(fake: Tensor) -> Tensor:
    """E[D(G(z))]: G lowers the energy of its samples (EBGAN and BEGAN)."""
    return fake.mean()


def pulling_away(embedding: Tensor) -> Tensor:
    """EBGAN's pulling-away term: mean squared cosine similarity between distinct codes of a batch."""
    n = embedding.shape[0]
    if n < 2:
        return embedding.new_zeros(())
    s = F.normalize(embedding.flatten(1), dim=1)
    cos2 = (s @ s.t()).pow(2)
    return (cos2.sum() - cos2.diagonal().sum()) / (n * (n - 1))


def began_d(real: Tensor, fake: Tensor, k: float) -> Tensor:
    """L(x) − k_t·L(G(z)) on autoencoder losses L."""
    return real.mean() - k * fake.mean()


def began_update(k: float, real: Tensor, fake: Tensor, gamma: float, lambda_k: float) -> float:
    """k_{t+1} = clip(k_t + λ_k(γ·L(x) − L(G(z))), 0, 1): proportional control of the equilibrium."""
    balance = gamma * float(real.detach().mean()) - float(fake.detach().mean())
    return min(max(k + lambda_k * balance, 0.0), 1.0)


def began_convergence(real: Tensor, fake: Tensor, gamma: float) -> float:
    """M = L(x) + |γ·L(x) − L(G(z))|, BEGAN's global measure of convergence."""
    lr, lf = float(real.detach().mean()), float(fake.detach().mean())
    return lr + abs(gamma * lr - lf)


# --- auxiliary terms: AC-GAN (Odena et al. 2017) and InfoGAN (Chen et al. 2016) ---------------

def acgan_class_loss(class_logits: Tensor, labels: Tensor) -> Tensor:
    """−E[log P(C = c | x)]: both players minimise it (D on real and generated, G on generated)."""
    return F.cross_entropy(class_logits, labels)


def infogan_loss(code_logits: Optional[Tensor], category: Optional[Tensor], code_cont: Optional[Tensor],
                 continuous: Optional[Tensor], continuous_weight: float = 1.0) -> Tensor:
    """The variational bound −L_I(G, Q) up to a constant: categorical cross-entropy plus the
    negative log-likelihood of a unit-variance Gaussian on the continuous codes (½ squared error)."""
    terms = []
    if code_logits is not None and category is not None:
        terms.append(F.cross_entropy(code_logits, category))
    if code_cont is not None and continuous is not None:
        terms.append(continuous_weight * 0.5 * (code_cont - continuous).pow(2).sum(1).mean())
    if not terms:
        raise ValueError("infogan_loss needs at least one code (categorical or continuous)")
    return torch.stack(terms).sum()
