"""Feasible sets an optimised input must stay in: a box, an Lp ball around the start, or both.

A constraint is a small value object; the optimiser gathers the per-row centre and radius and
calls :meth:`project`. Compose with ``&``: ``LinfBall(8/255) & Box(0, 1)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

import torch
from torch import Tensor

from ..validation import check_eps
from . import projections as P

Radius = Union[float, Tensor]


def check_radius(eps: Radius) -> None:
    """A radius is a finite number >= 0, or a tensor of them (scalar or one per sample); the
    batch size is checked where it is known (:func:`per_sample_radii`)."""
    check_eps(eps, eps.shape[0] if isinstance(eps, Tensor) and eps.dim() == 1 else 1)


def per_sample_radii(eps: Radius, n: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """One radius per sample, as a tensor the loop can gather per row."""
    if isinstance(eps, Tensor):
        eps = eps.to(device=device, dtype=dtype)
        if eps.dim() == 0:
            return eps.expand(n).clone()
        if eps.shape[0] != n:
            raise ValueError(f"eps has {eps.shape[0]} values but the batch has {n} samples")
        return eps
    return torch.full((n,), float(eps), device=device, dtype=dtype)


@dataclass(frozen=True)
class Box:
    """Coordinate-wise bounds, e.g. the valid pixel range [0, 1]."""

    lo: float = 0.0
    hi: float = 1.0

    def __post_init__(self) -> None:
        if not self.lo < self.hi:
            raise ValueError(f"Box needs lo < hi, got lo={self.lo}, hi={self.hi}")

    @property
    def box(self) -> "Box":
        return self

    def radii(self, n: int, device: torch.device, dtype: torch.dtype) -> Optional[Tensor]:
        return None

    def project(self, x: Tensor, origin: Tensor, radius: Optional[Tensor]) -> Tensor:
        return P.project_box(x, self.lo, self.hi)

    def contains(self, x: Tensor, origin: Tensor, radius: Optional[Tensor], tol: float = 1e-6) -> Tensor:
        flat = x.reshape(x.shape[0], -1)
        return ((flat >= self.lo - tol) & (flat <= self.hi + tol)).all(dim=1)

    def __and__(self, other: "Ball") -> "Ball":
        if isinstance(other, Ball):
            return other & self
        return NotImplemented


def box_of(constraint) -> Optional[Box]:
    """The box a constraint keeps iterates in (a :class:`Box`, a ball ``& Box``, or any constraint
    with a ``box`` attribute), or None."""
    return getattr(constraint, "box", None)


@dataclass(frozen=True, eq=False)
class Ball:
    """The Lp ball of radius ``eps`` around the starting point, optionally intersected with a box.

    ``eps`` is a float or a tensor with one radius per sample.
    """

    p: float
    eps: Radius
    box: Optional[Box] = None

    def __post_init__(self) -> None:
        if self.p not in (1, 2, float("inf")):
            raise ValueError(f"p must be 1, 2 or inf, got {self.p!r}")
        check_radius(self.eps)

    def __and__(self, other: Box) -> "Ball":
        if not isinstance(other, Box):
            return NotImplemented
        return Ball(self.p, self.eps, other)

    __rand__ = __and__

    def radii(self, n: int, device: torch.device, dtype: torch.dtype) -> Tensor:
        return per_sample_radii(self.eps, n, device, dtype)

    def project(self, x: Tensor, origin: Tensor, radius: Tensor) -> Tensor:
        if self.box is None:
            return P.project_ball(x, origin, radius, self.p)
        return P.project_ball_box(x, origin, radius, self.p, self.box.lo, self.box.hi)

    def contains(self, x: Tensor, origin: Tensor, radius: Tensor, tol: float = 1e-6) -> Tensor:
        ok = P.lp_norm(x - origin, self.p) <= radius * (1 + tol) + tol
        if self.box is not None:
            ok = ok & self.box.contains(x, origin, None, tol)
        return ok


def LinfBall(eps: Radius) -> Ball:
    return Ball(float("inf"), eps)


def L2Ball(eps: Radius) -> Ball:
    return Ball(2, eps)


def L1Ball(eps: Radius) -> Ball:
    return Ball(1, eps)


def parse_norm(norm: Union[str, float, int]) -> float:
    """Accept 'linf', 'inf', 'l2', '2', 'l1', 1, 2, inf."""
    if isinstance(norm, str):
        key = norm.lower().lstrip("l")
        table = {"inf": float("inf"), "∞": float("inf"), "2": 2.0, "1": 1.0}
        if key not in table:
            raise ValueError(f"norm must be one of linf, l2, l1; got {norm!r}")
        return table[key]
    if norm in (1, 2, float("inf")):
        return float(norm)
    raise ValueError(f"norm must be one of linf, l2, l1; got {norm!r}")
