"""The loss table: every GAN variant by name, with what it needs from the models and the trainer."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from torch import Tensor

from . import losses as L


@dataclass(frozen=True)
class Hyper:
    """Loss hyper-parameters that change during or between runs."""

    real_label: float = 1.0  # < 1: one-sided label smoothing (BCE family)
    margin: float = 1.0      # EBGAN
    k: float = 0.0           # BEGAN's k_t


@dataclass(frozen=True)
class LossSpec:
    """A GAN variant: D's and G's losses plus what they assume.

    ``family``: what D's score means ('bce' logit, 'ls' raw output, 'critic' Wasserstein/hinge value,
    'energy' autoencoder error). ``penalty``: 'gp' or 'dragan'. ``clip``: WGAN weight clipping.
    ``conditioning``: 'none', 'concat' (labels into G and D), 'aux' (AC-GAN head), 'info' (InfoGAN Q).
    ``defaults``: the hyper-parameters of the paper or the usual practice, overridable by config.
    """

    name: str
    summary: str
    d_loss: Callable[[Tensor, Tensor, Hyper], Tensor]
    g_loss: Callable[[Tensor], Tensor]
    family: str
    penalty: Optional[str] = None
    clip: bool = False
    conditioning: str = "none"
    discriminator: str = "dcgan"
    defaults: Dict[str, Any] = field(default_factory=dict)


_ADAM = {"optimizer": "adam", "lr": 2e-4, "betas": (0.5, 0.999), "d_steps": 1, "d_norm": "batch"}


def _bce(r: Tensor, f: Tensor, h: Hyper) -> Tensor:
    return L.bce_d(r, f, h.real_label)


LOSSES: Dict[str, LossSpec] = {s.name: s for s in [
    LossSpec("minimax", "Goodfellow et al. 2014 as written: G descends log(1 − D(G(z))) (saturates)",
             _bce, L.minimax_g, "bce", defaults=_ADAM),
    LossSpec("non-saturating", "Goodfellow et al. 2014 heuristic: G descends −log D(G(z)); DCGAN's loss",
             _bce, L.nonsaturating_g, "bce", defaults=_ADAM),
    LossSpec("lsgan", "least squares (Mao et al. 2017), a-b-c = 0-1-1",
             lambda r, f, h: L.lsgan_d(r, f, h.real_label), L.lsgan_g, "ls", defaults=_ADAM),
    LossSpec("wgan", "Wasserstein critic with weight clipping (Arjovsky et al. 2017)",
             lambda r, f, h: L.wasserstein_d(r, f), L.wasserstein_g, "critic", clip=True,
             defaults={"optimizer": "rmsprop", "lr": 5e-5, "betas": None, "d_steps": 5, "d_norm": "batch"}),
    LossSpec("wgan-gp", "Wasserstein critic with gradient penalty (Gulrajani et al. 2017)",
             lambda r, f, h: L.wasserstein_d(r, f), L.wasserstein_g, "critic", penalty="gp",
             defaults={"optimizer": "adam", "lr": 1e-4, "betas": (0.0, 0.9), "d_steps": 5, "d_norm": "layer"}),
    LossSpec("dragan", "non-saturating GAN with a gradient penalty around the data (Kodali et al. 2017)",
             _bce, L.nonsaturating_g, "bce", penalty="dragan",
             defaults={"optimizer": "adam", "lr": 1e-4, "betas": (0.5, 0.9), "d_steps": 1, "d_norm": "layer"}),
    LossSpec("hinge", "hinge loss (Lim & Ye 2017; Miyato et al. 2018)",
             lambda r, f, h: L.hinge_d(r, f), L.wasserstein_g, "critic", defaults=_ADAM),
    LossSpec("cgan", "conditional GAN (Mirza & Osindero 2014): labels into G and D, non-saturating",
             _bce, L.nonsaturating_g, "bce", conditioning="concat", defaults=_ADAM),
    LossSpec("acgan", "auxiliary-classifier GAN (Odena et al. 2017): non-saturating + class cross-entropy",
             _bce, L.nonsaturating_g, "bce", conditioning="aux", defaults=_ADAM),
    LossSpec("infogan", "InfoGAN (Chen et al. 2016): non-saturating + mutual-information bound on latent codes",
             _bce, L.nonsaturating_g, "bce", conditioning="info", defaults=_ADAM),
    LossSpec("ebgan", "energy-based GAN (Zhao et al. 2017): autoencoder D, margin loss, pulling-away term",
             lambda r, f, h: L.ebgan_d(r, f, h.margin), L.energy_g, "energy", discriminator="autoencoder",
             defaults={**_ADAM, "energy": "l2"}),
    LossSpec("began", "boundary-equilibrium GAN (Berthelot et al. 2017): autoencoder D, k_t control",
             lambda r, f, h: L.began_d(r, f, h.k), L.energy_g, "energy", discriminator="autoencoder",
             defaults={"optimizer": "adam", "lr": 1e-4, "betas": (0.5, 0.999), "d_steps": 1, "d_norm": "none",
                       "energy": "l1"}),
]}

ALIASES = {"ns": "non-saturating", "nonsaturating": "non-saturating", "saturating": "minimax", "gan": "minimax",
           "ls": "lsgan", "wgan-clip": "wgan", "wgangp": "wgan-gp", "conditional": "cgan"}


def get_loss(name: str) -> LossSpec:
    """The spec registered under ``name`` (or an alias such as 'ns' or 'saturating')."""
    if not isinstance(name, str):
        raise TypeError(f"loss name must be a string, got {type(name).__name__}")
    key = ALIASES.get(name.lower(), name.lower())
    if key not in LOSSES:
        raise ValueError(f"unknown GAN loss {name!r}; choose one of {', '.join(LOSSES)}")
    return LOSSES[key]


def loss_names() -> List[str]:
    return list(LOSSES)
