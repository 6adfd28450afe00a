"""The smallest step onto a hyperplane that stays in a box: FAB's projection (Croce & Hein 2020).

Minimise ‖δ‖_p subject to g·δ = c and lo ≤ δ ≤ hi (lo ≤ 0 ≤ hi). The KKT conditions give a
one-parameter family whose inner product with g is monotone in the parameter:
  L2: δ(λ) = clip(λ·g, lo, hi);   L∞: δ(r) = clip(r·sign(c)·sign(g), lo, hi).
Bisection on that parameter solves it per row; when the box makes c unreachable the row gets the
feasible δ that comes closest (the end of the family).

L1 is a linear programme, a fractional knapsack: a unit of |δ_i| buys |g_i| of progress toward c,
so the cheapest δ fills the coordinates in order of falling |g_i|, each to its bound in the
direction sign(c)·sign(g_i), and stops part-way through the first one that reaches c. One sort
and one cumulative sum solve it exactly.
"""
from __future__ import annotations

import torch
from torch import Tensor

_STEPS = 40


def _family(p: float, g: Tensor, s: Tensor, direction: Tensor, lo: Tensor, hi: Tensor) -> Tensor:
    if p == 2:
        return torch.minimum(torch.maximum(s[:, None] * direction[:, None] * g, lo), hi)
    return torch.minimum(torch.maximum(s[:, None] * direction[:, None] * g.sign(), lo), hi)


def _l1_onto_hyperplane(g: Tensor, c: Tensor, lo: Tensor, hi: Tensor) -> Tensor:
    direction = torch.where(c >= 0, 1.0, -1.0).to(g.dtype)
    up = direction[:, None] * g > 0  # moving δ_i up (toward hi) makes progress toward c
    room = torch.where(up, hi, -lo).clamp_min(0) * (g != 0)
    gain = g.abs()
    order = gain.argsort(dim=1, descending=True)
    gain_s, room_s = gain.gather(1, order), room.gather(1, order)
    reach = (gain_s * room_s).cumsum(dim=1)  # progress with the first j coordinates at their bounds
    before = reach - gain_s * room_s
    need = c.abs()[:, None]
    partial = torch.where(before < need, (need - before) / gain_s.clamp_min(1e-30), torch.zeros_like(room_s))
    amount = torch.where(reach <= need, room_s, partial)
    size = torch.zeros_like(g).scatter(1, order, amount)  # |δ_i|
    return torch.where(up, size, -size)


def project_onto_hyperplane(g: Tensor, c: Tensor, lo: Tensor, hi: Tensor, p: float) -> Tensor:
    """Rows of flat tensors: ``g`` (N, D), ``c`` (N,), bounds (N, D). Returns δ (N, D)."""
    if p == 1:
        return _l1_onto_hyperplane(g, c, lo, hi)
    if p not in (2, float("inf")):
        raise ValueError(f"supported norms are 1, 2 and inf, got {p}")
    direction = torch.where(c >= 0, 1.0, -1.0).to(g.dtype)
    target = c.abs()
    if p == 2:  # beyond this λ every coordinate with g_i ≠ 0 sits on its bound
        bound = torch.where(direction[:, None] * g > 0, hi, -lo)
        ratio = torch.where(g != 0, bound / g.abs().clamp_min(1e-30), torch.zeros_like(g))
        upper = ratio.amax(dim=1).clamp_min(1e-12)
    else:
        upper = torch.maximum(hi.abs(), lo.abs()).amax(dim=1).clamp_min(1e-12)
    lower = torch.zeros_like(upper)
    for _ in range(_STEPS):
        mid = (lower + upper) / 2
        reach = direction * (g * _family(p, g, mid, direction, lo, hi)).sum(dim=1)
        short = reach < target
        lower, upper = torch.where(short, mid, lower), torch.where(short, upper, mid)
    return _family(p, g, upper, direction, lo, hi)
