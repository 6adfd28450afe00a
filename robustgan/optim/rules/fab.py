"""FAB's step rule (Croce & Hein 2020): jump to the linearised decision boundary, biased toward
the original point, and step back toward it once over the boundary.

The objective must be a decision function f with f > 0 on the original class's side (e.g.
z_y − z_t); its value and gradient at x_k define the hyperplane the rule projects onto, in L1,
L2 or L∞ (:func:`~robustgan.optim.rules.hyperplane.project_onto_hyperplane`).
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

from .hyperplane import project_onto_hyperplane
from ..projections import lp_norm
from ..steps import StepRule, _put, _rows


class FABStep(StepRule):
    """x_{k+1} = clip((1−α)(x_k + η·δ_k) + α(x₀ + η·δ₀)), with δ_k, δ₀ the minimal-norm moves of
    x_k and x₀ onto the linearised boundary and α = min(‖δ_k‖/(‖δ_k‖+‖δ₀‖), α_max); a point that
    is already over the boundary (f < 0) moves to (1−β)·x₀ + β·x_k instead.

    The moves stay in the box of the loop's constraint (the pixel range [0, 1] without one);
    ``lo``/``hi``, when given, replace that box's bounds.
    """

    seeks_boundary = True

    def __init__(self, p: float = float("inf"), eta: float = 1.05, beta: float = 0.9, alpha_max: float = 0.1,
                 lo: Optional[float] = None, hi: Optional[float] = None):
        if p not in (1, 2, float("inf")):
            raise ValueError(f"FAB supports p=1, 2 or inf, got {p}")
        self.p, self.eta, self.beta, self.alpha_max, self.lo, self.hi = p, eta, beta, alpha_max, lo, hi

    def reset(self, w: Tensor, samples: Tensor) -> None:
        super().reset(w, samples)
        self._f = torch.zeros(w.shape[0], device=w.device, dtype=w.dtype)

    def observe(self, w, loss, grad, rows):
        _put(self._f, rows, loss)

    def _bounds(self) -> Tuple[float, float]:
        lo, hi = self.context.bounds()
        return (lo if self.lo is None else self.lo), (hi if self.hi is None else self.hi)

    def step(self, w, grad, rows):
        lo, hi = self._bounds()
        f = _rows(self._f, rows)
        x0 = _rows(self.context.origin, rows)
        n = w.shape[0]
        g, xk, x0f = grad.reshape(n, -1), w.reshape(n, -1), x0.reshape(n, -1)
        d_k = project_onto_hyperplane(g, -f, lo - xk, hi - xk, self.p)
        c0 = -(f + (g * (x0f - xk)).sum(dim=1))
        d_0 = project_onto_hyperplane(g, c0, lo - x0f, hi - x0f, self.p)
        nk, n0 = lp_norm(d_k, self.p), lp_norm(d_0, self.p)
        alpha = (nk / (nk + n0).clamp_min(1e-12)).clamp(0, self.alpha_max)[:, None]
        moved = ((1 - alpha) * (xk + self.eta * d_k) + alpha * (x0f + self.eta * d_0)).clamp(lo, hi)
        back = (1 - self.beta) * x0f + self.beta * xk
        moved = torch.where((f < 0)[:, None], back, moved)
        return moved.reshape(w.shape)
