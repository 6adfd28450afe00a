"""Adversarial training recipes: the batch loss of PGD-AT, fast FGSM-RS and TRADES.

Each recipe maximises over inputs with the one optimiser (``robustgan.optim.optimize``: CE for
PGD-AT and FGSM-RS, TRADES' KL objective) and returns the loss the trainer minimises
over weights. The inner maximisation runs the model in eval mode with frozen weights (what
:func:`robustgan.optim.optimize` always does, and what the TRADES reference code does with
``model.eval()``); the caller's train mode is back before the outer loss is computed, so
BatchNorm statistics and dropout only see the outer forward passes.

- PGD-AT (Madry et al. 2018): min_θ E max_{δ∈B(ε)} CE(f(x+δ), y), k steps of size 2.5ε/k from a
  uniform random start, training on the last iterate.
- FGSM-RS (Wong, Rice & Kolter 2020): one step of size 1.25ε from a uniform random start.
- TRADES (Zhang et al. 2019): CE(f(x), y) + β·KL(f(x) ‖ f(x')), x' maximising the KL from
  x + 0.001·N(0, I), β = 6 by default.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

METHODS = ("pgd", "fgsm-rs", "trades")


@dataclass(frozen=True)
class AdversarialConfig:
    """What adversarial training does per batch; ``steps``/``step_size`` default per method."""

    method: str = "pgd"
    eps: float = 0.1
    norm: str = "linf"
    steps: Optional[int] = None  # pgd: 7, trades: 7, fgsm-rs: always 1
    step_size: Optional[float] = None  # pgd/trades: 2.5·ε/steps, fgsm-rs: 1.25·ε
    beta: float = 6.0  # TRADES trade-off 1/λ

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown adversarial training method {self.method!r}; choose one of {list(METHODS)}")
        if not (isinstance(self.eps, (int, float)) and 0 < float(self.eps) < float("inf")):
            raise ValueError(f"eps must be a finite number > 0, got {self.eps!r}")
        if self.norm not in ("linf", "l2"):
            raise ValueError(f"norm must be 'linf' or 'l2', got {self.norm!r}")
        if self.steps is not None and (isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1):
            raise ValueError(f"steps must be an integer >= 1, got {self.steps!r}")
        if self.method == "fgsm-rs" and self.steps not in (None, 1):
            raise ValueError("fgsm-rs takes exactly one step; use method='pgd' for more")
        if self.step_size is not None and not float(self.step_size) > 0:
            raise ValueError(f"step_size must be > 0, got {self.step_size!r}")
        if not float(self.beta) >= 0:
            raise ValueError(f"beta must be >= 0, got {self.beta!r}")

    @property
    def inner_steps(self) -> int:
        return 1 if self.method == "fgsm-rs" else (7 if self.steps is None else self.steps)

    @property
    def inner_step_size(self) -> float:
        if self.step_size is not None:
            return float(self.step_size)
        if self.method == "fgsm-rs":
            return 1.25 * float(self.eps)
        return 2.5 * float(self.eps) / self.inner_steps

    def describe(self) -> str:
        extra = f", β={self.beta:g}" if self.method == "trades" else ""
        return (f"{self.method} {self.norm} ε={self.eps:g}, {self.inner_steps} step(s) of "
                f"{self.inner_step_size:.4g}{extra}")


def adversarial_batch_loss(cfg: AdversarialConfig, model: nn.Module, attacked: nn.Module, x: Tensor, y: Tensor,
                           generator: torch.Generator) -> Tuple[Tensor, Tensor]:
    """(loss to minimise over weights, logits of the inputs trained on for accuracy bookkeeping).

    ``model`` runs the outer forward passes (it may be a DistributedDataParallel wrapper);
    ``attacked`` is the plain module the inner maximisation differentiates through.
    """
    if cfg.method == "trades":
        from .trades import trades_inner_max

        x_adv, _ = trades_inner_max(attacked, x, cfg, generator)
        logits_clean = model(x)
        logits_adv = model(x_adv)
        natural = F.cross_entropy(logits_clean, y)
        robust = F.kl_div(F.log_softmax(logits_adv, dim=1), F.softmax(logits_clean, dim=1), reduction="batchmean")
        return natural + cfg.beta * robust, logits_adv
    x_adv = pgd_last_iterate(attacked, x, y, cfg, generator)
    logits = model(x_adv)
    return F.cross_entropy(logits, y), logits


def pgd_last_iterate(model: nn.Module, x: Tensor, y: Tensor, cfg: AdversarialConfig,
                     generator: Optional[torch.Generator] = None) -> Tensor:
    """PGD-AT's / FGSM-RS's inner maximisation: ascend CE(f(x'), y) over x' ∈ B(x, ε) ∩ [0, 1] from a
    uniform random start, ``cfg.inner_steps`` steepest-ascent steps, the last iterate returned.

    In L∞ this is :func:`attacks.pgd` with ``keep='last'`` bit for bit; it stays its own call for
    two reasons. ``keep='final'`` skips the forward pass that scores the last iterate (an attack
    must pay it to report success; training never reads it, and it is a third of FGSM-RS's cost),
    and the L2 start is uniform in the ball's volume (nearly on the sphere, as PGD-AT's reference
    code starts) where :func:`attacks.pgd` spreads its start radii for few-step evaluation. The
    caller's ``generator`` runs on from batch to batch, so no two batches share a start."""
    from ..objectives import CrossEntropy
    from ..optim import Ball, Box, optimize, parse_norm, steepest, uniform_in_ball

    p = parse_norm(cfg.norm)
    res = optimize(model, x, -CrossEntropy(), step=steepest(p, cfg.inner_step_size),
                   steps=cfg.inner_steps, constraint=Ball(p, float(cfg.eps)) & Box(0, 1), target=y,
                   init=uniform_in_ball(p), keep="final", generator=generator, desc=f"PGD-AT ({cfg.method})")
    return res.x
