"""Exact Euclidean projections onto boxes, Lp balls and their intersections.

Every function works on a batch: ``x`` and ``center`` are ``(n, ...)`` tensors and ``eps`` is a
``(n,)`` tensor of per-sample radii. The intersections of an L2 or L1 ball with a box are computed
exactly (up to float precision) through their one-dimensional dual: a sort of the breakpoints
for L2, a bisection over the monotone Lagrange multiplier closed by one linear solve for L1.
Sequential "clip to the ball, then to the box" is exact only for L∞.
"""
from __future__ import annotations

import torch
from torch import Tensor

def _flat(t: Tensor) -> Tensor:
    return t.reshape(t.shape[0], -1)


def _per_row(v: Tensor, like: Tensor) -> Tensor:
    """Reshape a (n,) tensor so it broadcasts against ``like`` of shape (n, ...)."""
    return v.reshape(-1, *([1] * (like.dim() - 1)))


def lp_norm(delta: Tensor, p: float) -> Tensor:
    """Per-sample Lp norm of a batch, p in {1, 2, inf}."""
    flat = _flat(delta)
    if p == float("inf"):
        return flat.abs().amax(dim=1)
    if p == 2:
        return flat.norm(p=2, dim=1)
    if p == 1:
        return flat.abs().sum(dim=1)
    raise ValueError(f"p must be 1, 2 or inf, got {p!r}")


def project_box(x: Tensor, lo: float, hi: float) -> Tensor:
    return x.clamp(lo, hi)


def project_linf(x: Tensor, center: Tensor, eps: Tensor) -> Tensor:
    e = _per_row(eps, x)
    return torch.maximum(torch.minimum(x, center + e), center - e)


def project_l2(x: Tensor, center: Tensor, eps: Tensor) -> Tensor:
    delta = x - center
    norm = lp_norm(delta, 2)
    factor = torch.where(norm > eps, eps / norm.clamp_min(1e-30), torch.ones_like(norm))
    return center + delta * _per_row(factor, delta)


def project_l1(x: Tensor, center: Tensor, eps: Tensor) -> Tensor:
    """Sort-based projection onto the L1 ball (Duchi et al. 2008), batched."""
    delta = x - center
    flat = _flat(delta)
    inside = flat.abs().sum(dim=1) <= eps
    u, _ = flat.abs().sort(dim=1, descending=True)
    cssv = u.cumsum(dim=1)
    j = torch.arange(1, u.shape[1] + 1, device=x.device, dtype=x.dtype)
    cond = u - (cssv - eps[:, None]) / j > 0
    rho = cond.to(torch.int64).cumsum(dim=1).argmax(dim=1)  # last index where cond holds
    rho = torch.where(cond.any(dim=1), rho, torch.zeros_like(rho))
    theta = ((cssv.gather(1, rho[:, None]).squeeze(1) - eps) / (rho + 1).to(x.dtype)).clamp_min(0)
    shrunk = flat.sign() * (flat.abs() - theta[:, None]).clamp_min(0)
    out = torch.where(inside[:, None], flat, shrunk)
    return center + out.reshape(delta.shape)


def project_linf_box(x: Tensor, center: Tensor, eps: Tensor, lo: float, hi: float) -> Tensor:
    """L∞ ball ∩ box is itself a box, so clipping to both is the exact projection."""
    return project_linf(x, center, eps).clamp(lo, hi)


def project_l2_box(x: Tensor, center: Tensor, eps: Tensor, lo: float, hi: float) -> Tensor:
    """Exact projection onto {‖z − c‖₂ ≤ ε} ∩ [lo, hi]ⁿ (``center`` must lie in the box).

    The KKT conditions give z(t) = clip(c + t·(x − c)) for the largest t in [0, 1] with
    ‖z(t) − c‖ ≤ ε. Coordinate i stops moving at t_i = room_i/|δ_i|, so with the t_i sorted,
    ‖z(t) − c‖² = Σ_{clipped} room² + t²·Σ_{free} δ² on each segment: one sort and one square
    root solve it exactly (no iteration).
    """
    delta = x - center
    d = _flat(delta)
    c = _flat(center)
    room = torch.where(d > 0, hi - c, c - lo).clamp_min(0)
    mag = d.abs()
    stop = torch.where(mag > 0, room / mag.clamp_min(1e-30), torch.full_like(mag, float("inf")))
    order = stop.argsort(dim=1)
    t_sorted = stop.gather(1, order)
    room2 = room.gather(1, order) ** 2
    mag2 = mag.gather(1, order) ** 2
    zero = torch.zeros_like(room2[:, :1])
    clipped_before = torch.cat([zero, room2.cumsum(dim=1)], dim=1)  # P[m] = Σ_{j<m} room²
    free_from = torch.cat([mag2.flip(1).cumsum(dim=1).flip(1), zero], dim=1)  # S[m] = Σ_{j≥m} δ²
    eps2 = (eps * eps)[:, None]
    finite_t = torch.where(torch.isfinite(t_sorted), t_sorted, torch.zeros_like(t_sorted))
    at_breaks = clipped_before[:, :-1] + finite_t ** 2 * free_from[:, :-1]
    reachable = torch.isfinite(t_sorted) & (t_sorted <= 1) & (at_breaks <= eps2)
    k = reachable.sum(dim=1, keepdim=True)  # breakpoints passed before the norm reaches ε
    a, b = clipped_before.gather(1, k), free_from.gather(1, k)
    t = torch.where(b > 0, ((eps2 - a).clamp_min(0) / b.clamp_min(1e-30)).sqrt(), torch.ones_like(b))
    t = t.clamp(max=1.0).squeeze(1)
    return (center + _per_row(t, delta) * delta).clamp(lo, hi)


def _bisection_steps(dtype: torch.dtype) -> int:
    """Halvings until the bracket on λ is below the dtype's resolution (mantissa bits + a few)."""
    return 60 if dtype == torch.float64 else 28


def project_l1_box(x: Tensor, center: Tensor, eps: Tensor, lo: float, hi: float) -> Tensor:
    """Exact projection onto {‖z − c‖₁ ≤ ε} ∩ [lo, hi]ⁿ (``center`` must lie in the box).

    Given the multiplier λ the problem is separable: coordinate i moves min(max(|δᵢ| − λ, 0), roomᵢ)
    toward x, where roomᵢ is its distance to the box edge on that side. The moved mass falls as λ
    grows, so λ is bracketed by bisection on that one cheap sum, and the last bracket is closed
    exactly: there the mass is linear in λ with slope −(coordinates still shrinking).
    """
    delta = x - center
    d, c = _flat(delta), _flat(center)
    a = d.abs()
    room = torch.where(d > 0, hi - c, c - lo).clamp_min(0)
    inside = a.minimum(room).sum(dim=1) <= eps
    if bool(inside.all()):
        return (center + delta).clamp(lo, hi)
    scratch = torch.empty_like(a)

    def mass(lam: Tensor) -> Tensor:
        torch.sub(a, lam[:, None], out=scratch)
        scratch.clamp_(min=0)
        torch.minimum(scratch, room, out=scratch)
        return scratch.sum(dim=1)

    lower, upper = torch.zeros_like(eps), a.amax(dim=1)
    for _ in range(_bisection_steps(x.dtype)):
        mid = (lower + upper) / 2
        ok = mass(mid) <= eps
        lower, upper = torch.where(ok, lower, mid), torch.where(ok, mid, upper)
    shrinking = ((a > upper[:, None]) & (a - upper[:, None] < room)).sum(dim=1)
    refined = (upper - (eps - mass(upper)) / shrinking.clamp_min(1)).clamp_min(0)
    lam = torch.where((shrinking > 0) & (mass(refined) <= eps), refined, upper)
    moved = c + d.sign() * (a - lam[:, None]).clamp_min(0).minimum(room)
    return torch.where(inside[:, None], (c + d).clamp(lo, hi), moved).reshape(x.shape)


def project_ball(x: Tensor, center: Tensor, eps: Tensor, p: float) -> Tensor:
    if p == float("inf"):
        return project_linf(x, center, eps)
    if p == 2:
        return project_l2(x, center, eps)
    if p == 1:
        return project_l1(x, center, eps)
    raise ValueError(f"p must be 1, 2 or inf, got {p!r}")


def project_ball_box(x: Tensor, center: Tensor, eps: Tensor, p: float, lo: float, hi: float) -> Tensor:
    if p == float("inf"):
        return project_linf_box(x, center, eps, lo, hi)
    if p == 2:
        return project_l2_box(x, center, eps, lo, hi)
    if p == 1:
        return project_l1_box(x, center, eps, lo, hi)
    raise ValueError(f"p must be 1, 2 or inf, got {p!r}")
