"""APGD's step rule (Croce & Hein 2020): momentum over projected points, a step size that halves
itself at checkpoints when progress stalls, and a restart from the best point when it does.

The rule is budget-aware: checkpoints sit at fractions 0.22, 0.22+0.19, … of the step budget, so
there is no step size to tune — the initial one is 2ε (from the constraint's radius).

For an L1 ball (Croce & Hein 2021, "Mind the box") the steepest-descent direction of L1 moves a
single coordinate, which stalls on the box's faces, so L1-APGD moves the top-k coordinates of
|∇| by equal amounts instead, with k adapted to the sparsity of the best point found so far: every
4% of the budget k becomes ‖x_best − x₀‖₀/1.5; the step size starts at ε, shrinks by 1.5 per check
down to ε/10, and goes back to ε (with a jump to the best point) whenever the best point became
markedly sparser. The exact projection onto the L1 ball ∩ box (the loop's) makes every step feasible.
"""
from __future__ import annotations

import math
from typing import List, Optional, Union

import torch
from torch import Tensor

from ..constraints import Box
from ..steps import CONSTRAINT_BOX, RuleContext, StepRule, _bcast, _per_sample_norm, _put, _rows, resolve_box


def apgd_checkpoints(steps: int) -> List[int]:
    """Iterations after which APGD checks its progress: ⌈p_j·N⌉ with p₀=0, p₁=0.22,
    p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06)."""
    p = [0.0, 0.22]
    while p[-1] < 1:
        p.append(p[-1] + max(p[-1] - p[-2] - 0.03, 0.06))
    return sorted({math.ceil(q * steps) for q in p[1:] if q < 1 and math.ceil(q * steps) > 0})


# L1-APGD's schedule (Croce & Hein 2021): checks every 4% of the budget, the step size shrinks by
# 1.5 per check to at least a tenth of its start, and k tracks the best point's L0 over 1.5.
_L1_CHECK_EVERY = 0.04
_L1_SHRINK = 1.5
_L1_MIN_STEP = 10.0
_L1_SPARSER = 0.95


def l1_checkpoints(steps: int) -> List[int]:
    """Iterations after which L1-APGD adapts its sparsity and step size: every 4% of the budget."""
    every = max(int(_L1_CHECK_EVERY * steps), 1)
    return list(range(every, steps, every))


def sparse_direction(grad: Tensor, share: Tensor) -> Tensor:
    """sign(∇) on the coordinates whose |∇| is in the top ``share`` of each row (ties included),
    zero elsewhere, scaled to unit L1 norm: L1-APGD's direction."""
    flat = grad.reshape(grad.shape[0], -1)
    d = flat.shape[1]
    ranked = flat.abs().sort(dim=1).values
    index = ((1 - share) * d).clamp(0, d - 1).long()
    threshold = ranked.gather(1, index[:, None])
    signs = flat.sign() * (flat.abs() >= threshold)
    return (signs / signs.abs().sum(dim=1, keepdim=True).clamp_min(1e-10)).reshape(grad.shape)


def _l0(delta: Tensor) -> Tensor:
    return (delta.reshape(delta.shape[0], -1) != 0).sum(dim=1).to(delta.dtype)


class APGD(StepRule):
    """Auto-PGD's step for an L∞ (``p=inf``), L2 (``p=2``) or L1 (``p=1``) ball.

    L∞/L2, per row: x_{k+1} = P(x_k + α(z − x_k) + (1−α)(x_k − x_{k−1})) with z = P(x_k − η·dir(∇)),
    α = 0.75 (1 on the first step). At each checkpoint a row halves η and jumps back to its best
    point if fewer than ρ of its steps since the last checkpoint improved the loss, or if η was not
    halved last time and the best loss has not moved.

    L1, per row: x_{k+1} = P(x_k − η·s_k) with s_k the sparse direction of :func:`sparse_direction`
    (no momentum, as in the paper), on the schedule in the module docstring. ``sparsity`` is the
    share of coordinates the first steps move (the paper's 0.2); ``None`` takes it from the starting
    point instead (‖x_start − x₀‖₀/1.5, the paper's rule for a warm start such as the previous
    radius of its ε schedule).

    ``box`` (L1): the box coordinates are blocked by — by default the loop constraint's
    (``RuleContext.box``). Coordinates the box blocks (at a bound, with the step pointing outward)
    are left out before the top-k is taken, so the whole step lands on coordinates that can move;
    with ``box=None`` they are ranked like the others and the projection then discards their share
    of the step (AutoAttack's reference implementation).

    ``initial``: the first step size in units of ε (default 2 for L∞/L2, 1 for L1).
    """

    def __init__(self, p: float = float("inf"), initial: Optional[float] = None, alpha: float = 0.75,
                 rho: float = 0.75, sparsity: Optional[float] = 0.2, box: Union[Box, None, str] = CONSTRAINT_BOX):
        if p not in (1, 2, float("inf")):
            raise ValueError(f"APGD supports p=1, 2 or inf, got {p}")
        if sparsity is not None and not 0 < sparsity <= 1:
            raise ValueError(f"sparsity must be in (0, 1] or None, got {sparsity}")
        if initial is None:
            initial = 1.0 if p == 1 else 2.0
        self.p, self.initial, self.alpha, self.rho, self.sparsity = float(p), initial, alpha, rho, sparsity
        self.box = box

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
            raise ValueError("APGD needs a ball constraint: its step size is a multiple of ε")
        self._box = resolve_box(self.box, context)  # the given box, or the constraint's
        self._eta = self.initial * context.radius.clone().to(self._best.dtype)
        if self.p != 1:
            self._checks = set(apgd_checkpoints(context.steps))
            return
        self._checks = set(l1_checkpoints(context.steps))
        self._eta_max = self._eta.clone()
        d = self._prev[0].numel()
        if self.sparsity is None:
            self._sparse_old = _l0(self._prev - context.origin)
            self._share = self._sparse_old / d / _L1_SHRINK
        else:
            self._share = torch.full_like(self._eta, float(self.sparsity))
            self._sparse_old = torch.full_like(self._eta, float(d))

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

    def _l1_step(self, w: Tensor, grad: Tensor, rows: Optional[Tensor]) -> Tensor:
        if self._t in self._checks:
            best = _rows(self._best_w, rows)
            sparse = _l0(best - _rows(self.context.origin, rows))
            sparser = sparse / _rows(self._sparse_old, rows).clamp_min(1) < _L1_SPARSER
            top = _rows(self._eta_max, rows)
            eta = torch.where(sparser, top, _rows(self._eta, rows) / _L1_SHRINK)
            _put(self._eta, rows, torch.minimum(torch.maximum(eta, top / _L1_MIN_STEP), top))
            _put(self._share, rows, sparse / w[0].numel() / _L1_SHRINK)
            _put(self._sparse_old, rows, sparse)
            w = torch.where(_bcast(sparser, w), best, w)
            grad = torch.where(_bcast(sparser, grad), _rows(self._best_grad, rows), grad)
        if self._box is not None:  # the move is −sign(∇): blocked at lo where ∇ > 0, at hi where ∇ < 0
            blocked = ((w <= self._box.lo) & (grad > 0)) | ((w >= self._box.hi) & (grad < 0))
            grad = grad.masked_fill(blocked, 0.0)
        direction = sparse_direction(grad, _rows(self._share, rows))
        self._t += 1
        return w - _bcast(_rows(self._eta, rows), w) * direction  # the loop projects onto ball ∩ box

    def step(self, w, grad, rows):
        if self.p == 1:
            return self._l1_step(w, grad, rows)
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
