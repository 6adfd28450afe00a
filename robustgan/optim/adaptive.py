"""APGD's step rule (Croce & Hein 2020): momentum over projected points, a step size that halves
itself at checkpoints when progress stalls, and a restart from the best point when it does.

The rule is budget-aware: checkpoints sit at fractions 0.22, 0.22+0.19, … of the step budget, so
there is no step size to tune — the initial one is 2ε (from the constraint's radius).
"""
from __future__ import annotations

import math
from typing import List, Optional

import torch
from torch import Tensor

from .steps import RuleContext, StepRule, _bcast, _per_sample_norm, _rows


def apgd_checkpoints(steps: int) -> List[int]:
    """Iterations after which APGD checks its progress: ⌈p_j·N⌉ with p₀=0, p₁=0.22,
    p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06)."""
    p = [0.0, 0.22]
    while p[-1] < 1:
        p.append(p[-1] + max(p[-1] - p[-2] - 0.03, 0.06))
    return sorted({math.ceil(q * steps) for q in p[1:] if q < 1 and math.ceil(q * steps) > 0})


def _put(store: Tensor, rows: Optional[Tensor], value: Tensor, mask: Optional[Tensor] = None) -> None:
    """store[rows][mask] = value[mask], in place, for rows=None meaning every row."""
    idx = torch.arange(store.shape[0], device=store.device) if rows is None else rows
    if mask is not None:
        idx, value = idx[mask], value[mask]
    store[idx] = value


class APGD(StepRule):
    """Auto-PGD's step for an L∞ (``p=inf``) or L2 (``p=2``) ball.

    Per row: x_{k+1} = P(x_k + α(z − x_k) + (1−α)(x_k − x_{k−1})) with z = P(x_k − η·dir(∇)), α = 0.75
    (1 on the first step). At each checkpoint a row halves η and jumps back to its best point if
    fewer than ρ of its steps since the last checkpoint improved the loss, or if η was not halved
    last time and the best loss has not moved.
    """

    def __init__(self, p: float = float("inf"), initial: float = 2.0, alpha: float = 0.75, rho: float = 0.75):
        super().__init__(0.0)
        if p not in (2, float("inf")):
            raise ValueError(f"APGD supports p=2 or p=inf, got {p}")
        self.p, self.initial, self.alpha, self.rho = p, initial, alpha, rho

    def reset(self, w: Tensor, samples: Tensor) -> None:
        super().reset(w, samples)
        n = w.shape[0]
        z = lambda: torch.zeros(n, device=w.device, dtype=w.dtype)  # noqa: E731
        self._prev = w.detach().clone()
        self._best_w = w.detach().clone()
        self._best_grad = torch.zeros_like(w)
        self._best = torch.full((n,), float("inf"), device=w.device, dtype=w.dtype)
        self._last_loss = torch.full((n,), float("inf"), device=w.device, dtype=w.dtype)
        self._improved = z()
        self._best_at_check = torch.full((n,), float("inf"), device=w.device, dtype=w.dtype)
        self._halved_last = torch.zeros(n, dtype=torch.bool, device=w.device)
        self._t = 0  # steps taken so far; the iterate being stepped from is x_t
        self._last_check = 0

    def bind(self, context: RuleContext) -> None:
        super().bind(context)
        if context.radius is None:
            raise ValueError("APGD needs a ball constraint: its step size starts at 2·ε")
        self._eta = self.initial * context.radius.clone().to(self._best.dtype)
        self._checks = set(apgd_checkpoints(context.steps))

    def observe(self, w, loss, grad, rows):
        if self._t > 0:
            went_down = (loss < _rows(self._last_loss, rows)).to(loss.dtype)
            _put(self._improved, rows, _rows(self._improved, rows) + went_down)
        _put(self._last_loss, rows, loss)
        better = loss < _rows(self._best, rows)
        _put(self._best, rows, loss, better)
        _put(self._best_w, rows, w, better)
        if grad is not None:
            _put(self._best_grad, rows, grad, better)

    def _check(self, rows: Optional[Tensor]) -> Tensor:
        """Which rows halve their step now (and reset to their best point)."""
        window = self._t - self._last_check
        oscillating = _rows(self._improved, rows) <= self.rho * window
        stalled = ~_rows(self._halved_last, rows) & (_rows(self._best_at_check, rows) <= _rows(self._best, rows))
        return oscillating | stalled

    def step(self, w, grad, rows):
        if self._t in self._checks:
            halve = self._check(rows)
            _put(self._eta, rows, _rows(self._eta, rows) / torch.where(halve, 2.0, 1.0).to(w.dtype))
            w = torch.where(_bcast(halve, w), _rows(self._best_w, rows), w)
            grad = torch.where(_bcast(halve, grad), _rows(self._best_grad, rows), grad)
            _put(self._halved_last, rows, halve)
            _put(self._best_at_check, rows, _rows(self._best, rows))
            _put(self._improved, rows, torch.zeros_like(_rows(self._improved, rows)))
            self._last_check = self._t
        if self.p == 2:
            direction = grad / _bcast(_per_sample_norm(grad, 2).clamp_min(1e-12), grad)
        else:
            direction = grad.sign()
        eta = _bcast(_rows(self._eta, rows), w)
        z = self.context.project(w - eta * direction, rows)
        a = 1.0 if self._t == 0 else self.alpha
        moved = w + a * (z - w) + (1 - a) * (w - _rows(self._prev, rows))
        _put(self._prev, rows, w)
        self._t += 1
        return moved
