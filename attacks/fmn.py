"""FMN (Pintor et al. 2021, "Fast Minimum-norm Adversarial Attacks through Adaptive Norm
Constraints"): the smallest L0, L1, L2 or L∞ perturbation that fools the model, found by
normalised descent on the logit margin inside a ball whose radius adapts every step.

A recipe over :func:`robustgan.optim.optimize`: the :class:`~robustgan.optim.FMNStep` rule moves
the per-sample radius of the constraint (an Lp ball ∩ [0, 1], or :class:`~robustgan.optim.L0Ball`
∩ [0, 1]) from the success flags, and the loop keeps per sample the smallest successful iterate.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional, Union

import torch
from torch import Tensor, nn

from robustgan.objectives import Margin, TargetMargin
from robustgan.optim import Ball, Box, FMNStep, L0Ball, optimize, parse_norm
from robustgan.optim.rules.minimal_norm import largest_norm, norm_of

from ._common import AttackResult, budget_steps, finish, fooled, prepare, smallest_success

FMNNorm = Union[str, float, int]


def parse_fmn_norm(norm: FMNNorm) -> float:
    """Like :func:`~robustgan.optim.parse_norm`, plus 'l0' / 0."""
    if (isinstance(norm, str) and norm.lower().lstrip("l") == "0") or (not isinstance(norm, str) and norm == 0):
        return 0.0
    try:
        return parse_norm(norm)
    except ValueError:
        raise ValueError(f"norm must be one of l0, l1, l2, linf; got {norm!r}") from None


def minimal_result(model: nn.Module, res, x: Tensor, y: Tensor, target: Optional[Tensor], p: float) -> AttackResult:
    """Per sample the kept successful iterate, the unchanged input where none succeeded; the
    distance is recomputed from the returned images (L0: changed coordinates)."""
    success = res.success
    x_adv = torch.where(success.reshape(-1, *([1] * (x.dim() - 1))), res.x, x)
    out = finish(model, x_adv, x, y, target, 2.0 if p == 0 else p, res.steps, success, queries=res)
    if p == 0:
        out = replace(out, distance=norm_of(x_adv - x, 0), norm=0.0)
    return out


def fmn(model: nn.Module, x: Tensor, y: Tensor, *, norm: FMNNorm = "l2", steps: int = 100,
        target: Optional[Tensor] = None, gamma_init: float = 0.05, gamma_final: float = 0.001,
        alpha_init: float = 1.0, alpha_final: Optional[float] = None, queries: Optional[int] = None,
        progress: bool = False) -> AttackResult:
    """Minimum-norm adversarial examples in L0, L1, L2 or L∞ (``norm``), untargeted or toward ``target``.

    Args:
        steps: gradient steps (the ε and α schedules are annealed over them).
        gamma_init, gamma_final: the factor by which ε shrinks or grows, cosine-annealed.
        alpha_init, alpha_final: the L2 length of the normalised gradient step, cosine-annealed
            (``alpha_final`` defaults to ``alpha_init/100``, the paper's setting).
        queries: a per-sample budget of forward plus backward passes; it caps ``steps`` at
            ⌊(queries − 1)/2⌋ (see :func:`~attacks._common.budget_steps`), so every sample spends at most that many.

    Returns an :class:`AttackResult` whose ``x`` is, per sample, the smallest successful iterate
    (the input itself where none succeeded), ``distance`` its norm, and ``forwards``/``backwards``
    the passes spent. The attack is deterministic: it starts at the input and draws nothing.
    """
    y, target, _ = prepare(model, x, y, target)
    p = parse_fmn_norm(norm)
    steps = budget_steps(steps, queries)
    targeted = target is not None
    success = fooled(targeted)
    box = Box(0.0, 1.0)
    # ε starts at one coordinate (L0) or unbounded, i.e. the whole box (its largest distance).
    constraint = L0Ball(1.0) & box if p == 0 else Ball(p, largest_norm(x, p, box)) & box
    rule = FMNStep(p, alpha_init=alpha_init, alpha_final=alpha_final, gamma_init=gamma_init,
                   gamma_final=gamma_final)
    margin = TargetMargin(float("inf")) if targeted else Margin(float("inf"))
    res = optimize(
        model, x, margin, step=rule, steps=steps, constraint=constraint,
        target=target if targeted else y, success=success, score=smallest_success(p, success),
        progress=progress, desc=f"FMN-L{'inf' if p == float('inf') else int(p)}",
    )
    return minimal_result(model, res, x, y, target, p)
