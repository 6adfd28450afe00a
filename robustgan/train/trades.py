"""TRADES' inner maximisation (Zhang et al. 2019): max_{x'∈B(x,ε)} KL(f(x) ‖ f(x')) on the one optimiser."""
from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..objectives import Objective
from ..optim import Ball, Box, frozen, optimize, parse_norm, steepest


class KLFromReference(Objective):
    """KL(p_ref ‖ softmax(z)) per row, p_ref given per sample as log-probabilities (no gradient)."""

    def __init__(self, reference_log_probs: Tensor):
        self.ref = reference_log_probs.detach()

    def __call__(self, ev) -> Tensor:
        ref = self.ref.to(ev.logits.device)[ev.samples]
        return (ref.exp() * (ref - F.log_softmax(ev.logits, dim=1))).sum(dim=1)

    def __repr__(self) -> str:
        return "KL(p_ref‖p)"


def small_gaussian_start(scale: float = 0.001):
    """TRADES' start: x + scale·N(0, I), drawn on the CPU generator so a seed gives the same bits."""

    def init(origin: Tensor, radius: Optional[Tensor], generator: Optional[torch.Generator]) -> Tensor:
        gen_device = generator.device if generator is not None else torch.device("cpu")
        noise = torch.randn(origin.shape, generator=generator, device=gen_device, dtype=origin.dtype)
        return origin + scale * noise.to(origin.device)

    return init


def trades_inner_max(model: nn.Module, x: Tensor, cfg, generator: Optional[torch.Generator] = None) -> Tuple[Tensor, Tensor]:
    """(x', KL at x') for each row of ``x``; the model's mode and flags are as they were afterwards."""
    with frozen([model]), torch.no_grad():
        ref = F.log_softmax(model(x), dim=1)
    p = parse_norm(cfg.norm)
    res = optimize(
        model, x, -KLFromReference(ref), step=steepest(p, cfg.inner_step_size), steps=cfg.inner_steps,
        constraint=Ball(p, float(cfg.eps)) & Box(0, 1), init=small_gaussian_start(), keep="last",
        generator=generator, desc="TRADES",
    )
    return res.x, -res.loss
