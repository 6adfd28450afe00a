"""Losses of the translation GANs, as pure functions: each returns a scalar its player *minimises*.

Adversarial terms work on logits of any shape (a PatchGAN map (N, 1, h, w) or one logit per image),
averaged over every element: ``bce`` is the non-saturating cross-entropy game (pix2pix, SRGAN,
StarGAN here), ``lsgan`` the least-squares one (CycleGAN's choice). The discriminator's objective
is halved, as in the pix2pix/CycleGAN reference code, which slows D relative to G.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...optim.freeze import frozen
from ...optim.taps import tapped

GAN_LOSSES = ("bce", "lsgan")


def _toward(logits: Tensor, target: float, kind: str) -> Tensor:
    """Mean distance of the logits from the label ``target`` (1 real, 0 fake) under the game ``kind``."""
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))
    if kind == "lsgan":
        return (logits - target).pow(2).mean()
    raise ValueError(f"GAN loss must be one of {GAN_LOSSES}, got {kind!r}")


def discriminator_loss(real: Tensor, fake: Tensor, kind: str = "bce") -> Tensor:
    """½[ℓ(D(real), 1) + ℓ(D(fake), 0)]: BCE-with-logits (``bce``) or squared error (``lsgan``)."""
    return 0.5 * (_toward(real, 1.0, kind) + _toward(fake, 0.0, kind))


def generator_adversarial_loss(fake: Tensor, kind: str = "bce") -> Tensor:
    """ℓ(D(G(x)), 1): G wants its outputs judged real (the non-saturating form for ``bce``)."""
    return _toward(fake, 1.0, kind)


def l1_loss(output: Tensor, target: Tensor) -> Tensor:
    """Mean absolute error E|output − target|."""
    return (output - target).abs().mean()


def pix2pix_generator_loss(fake_logits: Tensor, output: Tensor, target: Tensor, lambda_l1: float = 100.0,
                           kind: str = "bce") -> Tensor:
    """pix2pix's G* objective: L_cGAN + λ·L1(G(x), y); the L1 term pins the low frequencies, the
    patch discriminator the high ones. λ = 100 as in Isola et al."""
    return generator_adversarial_loss(fake_logits, kind) + lambda_l1 * l1_loss(output, target)


def cycle_consistency_loss(reconstructed_a: Tensor, real_a: Tensor, reconstructed_b: Tensor, real_b: Tensor,
                           lambda_cycle: float = 10.0) -> Tensor:
    """λ·(E‖F(G(a)) − a‖₁ + E‖G(F(b)) − b‖₁) (Zhu et al. 2017, λ = 10)."""
    return lambda_cycle * (l1_loss(reconstructed_a, real_a) + l1_loss(reconstructed_b, real_b))


def identity_loss(same_a: Tensor, real_a: Tensor, same_b: Tensor, real_b: Tensor, weight: float = 5.0) -> Tensor:
    """weight·(E‖F(a) − a‖₁ + E‖G(b) − b‖₁): a generator fed its own output domain should change
    nothing. CycleGAN's code weighs it λ_identity·λ_cycle = 0.5 · 10 = 5."""
    return weight * (l1_loss(same_a, real_a) + l1_loss(same_b, real_b))


def perceptual_loss(network: nn.Module, layer: str, output: Tensor, target: Tensor) -> Tensor:
    """SRGAN's content loss: MSE between ``network``'s features at ``layer`` of output and target.

    The network runs in eval mode with frozen weights (restored afterwards): only ``output``
    receives gradients; the target's features are constants."""
    with frozen([network]), tapped(network, [layer]) as features:
        with torch.no_grad():
            network(target)
        want = features[layer].detach()
        network(output)
        got = features[layer]
    return F.mse_loss(got, want)


def srgan_generator_loss(content: Tensor, fake_logits: Optional[Tensor], adversarial_weight: float = 1e-3) -> Tensor:
    """l_SR = content + 10⁻³·(−log D(G(x))) (Ledig et al. 2017); ``fake_logits=None`` is the
    non-adversarial baseline (content alone)."""
    if fake_logits is None:
        return content
    return content + adversarial_weight * generator_adversarial_loss(fake_logits, "bce")


def domain_classification_loss(logits: Tensor, domains: Tensor) -> Tensor:
    """Cross-entropy of the discriminator's domain head: on real images for D, on G(x, c) toward c for G."""
    return F.cross_entropy(logits, domains.long())


def reconstruction_loss(reconstructed: Tensor, real: Tensor) -> Tensor:
    """StarGAN's E‖x − G(G(x, c), c′)‖₁: back to the original domain c′ must give the image back."""
    return l1_loss(reconstructed, real)


def stargan_discriminator_loss(real_score: Tensor, fake_score: Tensor, real_domain_logits: Tensor,
                               real_domains: Tensor, lambda_cls: float = 1.0, kind: str = "bce") -> Tensor:
    """L_D = L_adv(D) + λ_cls·L_cls(real): judge real/fake and classify the real images' domains."""
    return (discriminator_loss(real_score, fake_score, kind)
            + lambda_cls * domain_classification_loss(real_domain_logits, real_domains))


def stargan_generator_loss(fake_score: Tensor, fake_domain_logits: Tensor, target_domains: Tensor,
                           reconstructed: Tensor, real: Tensor, lambda_cls: float = 1.0, lambda_rec: float = 10.0,
                           kind: str = "bce") -> Tensor:
    """L_G = L_adv(G) + λ_cls·L_cls(fake → c) + λ_rec·L_rec (Choi et al. 2018: λ_cls 1, λ_rec 10)."""
    return (generator_adversarial_loss(fake_score, kind)
            + lambda_cls * domain_classification_loss(fake_domain_logits, target_domains)
            + lambda_rec * reconstruction_loss(reconstructed, real))


__all__ = ["GAN_LOSSES", "cycle_consistency_loss", "discriminator_loss", "domain_classification_loss",
           "generator_adversarial_loss", "identity_loss", "l1_loss", "perceptual_loss", "pix2pix_generator_loss",
           "reconstruction_loss", "srgan_generator_loss", "stargan_discriminator_loss", "stargan_generator_loss"]
