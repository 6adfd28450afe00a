"""Per-sample search over a penalty weight c (Szegedy's line search, Carlini–Wagner's binary search).

Both minimal-distortion attacks solve ``min dist + c·loss`` (or ``c·dist + loss``) for several c
and keep, per sample, the smallest distortion that succeeded. The search is the same in both, so
it lives here once, over any ``run(c, start) -> OptimizeResult``.

A sample that has not succeeded yet continues the next round from where the last one ended (the
iterate closest to success) instead of from the clean input: the rounds then add up to one long
optimisation with a growing weight on the adversarial loss, which is what points far from the
boundary (a robust model's) need. A sample that has succeeded restarts from its clean input, as in
Carlini & Wagner, so that every round's success says something about its c.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import Tensor

from ..state import OptimizeResult


def search_penalty(
    run: Callable[[Tensor, Tensor], OptimizeResult],
    initial: Tensor,
    rounds: int,
    raise_on_success: bool,
    distance: Callable[[Tensor], Tensor],
    origin: Tensor,
    grow: float = 10.0,
    on_result: Optional[Callable[[OptimizeResult], None]] = None,
) -> tuple:
    """Bisect c per sample in log space; returns (best x, best distance, success, final c).

    ``run(c, start)`` optimises from ``start`` (the clean ``origin`` for samples that have
    succeeded, else the previous round's closest-to-success iterate). ``raise_on_success``: True
    when c weights the distance (success → penalise distortion more), False when c weights the
    adversarial loss (success → try a smaller c). Until a sample has a bracket, c moves by the
    factor ``grow``. ``on_result`` sees every round's result (query accounting).
    """
    c = initial.clone()
    lower = torch.zeros_like(c)
    upper = torch.full_like(c, float("inf"))
    best_x = origin.detach().clone()
    best_dist = torch.full_like(c, float("inf"))
    found = torch.zeros_like(c, dtype=torch.bool)
    start = origin.detach()
    shape = (-1,) + (1,) * (origin.dim() - 1)
    for _ in range(rounds):
        res = run(c, start)
        if on_result is not None:
            on_result(res)
        ok = res.success.to(c.device)
        dist = distance(res.x)
        better = ok & (dist < best_dist)
        best_x[better] = res.x[better]
        best_dist = torch.where(better, dist, best_dist)
        found |= ok
        start = torch.where(found.reshape(shape), origin, res.x).detach()
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
