"""The whole objectives of one GAN iteration: the table's loss plus the terms its variant adds."""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import Tensor

from . import losses as L
from .config import GANConfig
from .models import Critique, DCGANGenerator
from .penalties import dragan_penalty, gradient_penalty
from .registry import Hyper, LossSpec


def discriminator_objective(spec: LossSpec, cfg: GANConfig, hyper: Hyper, g: DCGANGenerator, real: Critique,
                            fake: Critique, y_real: Optional[Tensor], y_fake: Optional[Tensor], z: Tensor) -> Tensor:
    """D's loss of the table plus AC-GAN's class term (real and generated) or InfoGAN's code term."""
    loss = spec.d_loss(real.score, fake.score, hyper)
    if spec.conditioning == "aux":
        loss = loss + cfg.aux_weight * (L.acgan_class_loss(real.class_logits, y_real)
                                        + L.acgan_class_loss(fake.class_logits, y_fake))
    elif spec.conditioning == "info":
        cat, cont = g.split_codes(z)
        loss = loss + cfg.info_weight * L.infogan_loss(fake.code_logits, cat, fake.code_cont, cont)
    return loss


def critic_penalty(spec: LossSpec, cfg: GANConfig, critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor,
                   noise: torch.Generator) -> Optional[Tensor]:
    """WGAN-GP's or DRAGAN's gradient penalty (drawing its points from ``noise``); None for the other losses."""
    if spec.penalty == "gp":
        return gradient_penalty(critic, real, fake, cfg.gp_weight, noise)
    if spec.penalty == "dragan":
        return dragan_penalty(critic, real, cfg.gp_weight, generator=noise)
    return None


def generator_objective(spec: LossSpec, cfg: GANConfig, g: DCGANGenerator, fake: Critique,
                        y_fake: Optional[Tensor], z: Tensor) -> Tensor:
    """G's loss of the table plus AC-GAN's class term, InfoGAN's code term or EBGAN's pulling-away term."""
    loss = spec.g_loss(fake.score)
    if spec.conditioning == "aux":
        loss = loss + cfg.aux_weight * L.acgan_class_loss(fake.class_logits, y_fake)
    elif spec.conditioning == "info":
        cat, cont = g.split_codes(z)
        loss = loss + cfg.info_weight * L.infogan_loss(fake.code_logits, cat, fake.code_cont, cont)
    elif spec.name == "ebgan" and cfg.pt_weight:
        loss = loss + cfg.pt_weight * L.pulling_away(fake.embedding)
    return loss
