"""The Square attack (Andriushchenko et al. 2020): score-based random search, no gradients at all.

A recipe over :func:`robustgan.optim.optimize` with the gradient-free
:class:`~robustgan.optim.SquareSearch` rule on the margin loss; each query is one forward pass.
"""
from __future__ import annotations

from typing import Optional, Union

import torch
from torch import Tensor, nn

from robustgan.optim import Ball, Box, SquareSearch, optimize, parse_norm, square_init

from ._common import AttackResult, Norm, adversarial_loss, budget_steps, finish, fooled, generator_for, prepare


def square(model: nn.Module, x: Tensor, y: Tensor, eps: Union[float, Tensor], *, norm: Norm = "linf",
           steps: int = 5000, queries: Optional[int] = None, p_init: Optional[float] = None,
           seed: Optional[int] = 0, generator: Optional[torch.Generator] = None,
           progress: bool = False) -> AttackResult:
    """Untargeted Square attack: ``steps`` random-search iterations per point, one forward pass
    each after the one that scores the start (fewer for points it breaks: a fooled point stops,
    as the search has nothing left to improve). ``queries`` caps the forward passes per point
    (``steps`` ≤ queries − 1, see :func:`~attacks._common.budget_steps`). ``p_init`` is the
    first window's share of the image: 0.8 (L∞), 0.3 (L2)."""
    y, _, eps = prepare(model, x, y, None, eps)
    p = parse_norm(norm)
    steps = budget_steps(steps, queries, per_step=1)
    if p_init is None:
        p_init = 0.8 if p == float("inf") else 0.3
    gen = generator_for(seed, generator)
    res = optimize(
        model, x, adversarial_loss("margin", False), step=SquareSearch(p, p_init, gen), steps=steps,
        constraint=Ball(p, eps) & Box(0, 1), target=y, init=square_init(p, gen),
        success=fooled(False), stop_on_success=True, generator=gen, progress=progress, desc="Square",
    )
    return finish(model, res.x, x, y, None, p, res.steps, res.success, queries=res)
