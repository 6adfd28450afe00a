"""Per-sample search over a penalty weight c (Szegedy's line search, Carlini–Wagner's binary search).

Both minimal-distortion attacks solve ``min dist + c·loss`` (or ``c·dist + loss``) for several c
and keep, per sample, the smallest distortion that succeeded. The search is the same in both, so
it lives here once, over any ``run(c) -> OptimizeResult``.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import Tensor

from .state import OptimizeResult


def search_penalty(
    run: Callable[[Tensor], OptimizeResult],
    initial: Tensor,
    rounds: int,
    raise_on_success: bool,
    distance: Callable[[Tensor], Tensor],
    grow: float = 10.0,
) -> tuple:
    """Bisect c per sample in log space; returns (best x, best distance, success, final c).

    ``raise_on_success``: True when c weights the distance (success → penalise distortion more),
    False when c weights the adversarial loss (success → try a smaller c). Until a sample has a
    bracket, c moves by the factor ``grow``.
    """
    c = initial.clone()
    lower = torch.zeros_like(c)
    upper = torch.full_like(c, float("inf"))
    best_x: Optional[Tensor] = None
    best_dist = torch.full_like(c, float("inf"))
    found = torch.zeros_like(c, dtype=torch.bool)
    for _ in range(rounds):
        res = run(c)
        ok = res.success.to(c.device)
        dist = distance(res.x)
        if best_x is None:
            best_x = res.x.clone()
        better = ok & (dist < best_dist)
        best_x[better] = res.x[better]
        best_dist = torch.where(better, dist, best_dist)
        found |= ok
        go_up = ok if raise_on_success else ~ok
        lower = torch.where(go_up, c, lower)
        upper = torch.where(go_up, upper, c)
        bracketed = torch.isfinite(upper) & (lower > 0)
        c = torch.where(
            bracketed,
            torch.sqrt(lower * upper),
            torch.where(go_up, c * grow, c / grow),
        )
    return best_x, best_dist, found, c
