"""A batched, projected L-BFGS step rule: one quasi-Newton run per row, all rows in one loop.

SciPy's L-BFGS-B (:class:`~robustgan.optim.LBFGSB`) solves one problem; handed a batch it minimises
the *sum* of the rows' objectives, so every row shares one line search and one curvature history,
and the rows that converge first stop the rest. Szegedy's attack is a separate problem per image:
this rule keeps, per row, its own history of (s, y) pairs, its own accepted point and its own
backtracking line search, and runs inside :func:`~robustgan.optim.optimize` like every other rule.

Each loop step evaluates one trial point per row. ``observe`` accepts it when it satisfies the
Armijo condition along the projected path (then the pair (s, y) enters the history and a new
direction comes from the two-loop recursion), or halves the trial step otherwise. Coordinates held
at a bound of the box by the gradient are frozen out of the direction (the free-variable subspace
of L-BFGS-B), and every trial point is projected by the loop's constraint.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from .steps import StepRule, _put, _rows


class LBFGS(StepRule):
    """Per-row limited-memory BFGS with a projected backtracking line search.

    Args:
        memory: (s, y) pairs kept per row.
        initial: length (L2, in the variable's units) of a row's first trial step, and of the
            first step after its history is reset.
        armijo: sufficient-decrease constant c₁.
        shrink: factor applied to a rejected trial step.
    """

    def __init__(self, memory: int = 10, initial: float = 1.0, armijo: float = 1e-4, shrink: float = 0.5):
        if memory < 1:
            raise ValueError(f"memory must be >= 1, got {memory}")
        if not (initial > 0 and 0 < armijo < 1 and 0 < shrink < 1):
            raise ValueError("need initial > 0, 0 < armijo < 1 and 0 < shrink < 1")
        self.memory, self.initial, self.armijo, self.shrink = memory, initial, armijo, shrink

    def reset(self, w: Tensor, samples: Tensor) -> None:
        super().reset(w, samples)
        rows, dim = w.shape[0], w[0].numel()
        like = dict(device=w.device, dtype=w.dtype)
        self._x = torch.zeros(rows, dim, **like)  # accepted point
        self._f = torch.full((rows,), float("inf"), **like)
        self._g = torch.zeros(rows, dim, **like)
        self._d = torch.zeros(rows, dim, **like)  # search direction from the accepted point
        self._t = torch.zeros(rows, **like)  # trial step length along d
        self._started = torch.zeros(rows, dtype=torch.bool, device=w.device)
        self._s = torch.zeros(self.memory, rows, dim, **like)  # newest pair last
        self._y = torch.zeros(self.memory, rows, dim, **like)
        self._valid = torch.zeros(self.memory, rows, dtype=torch.bool, device=w.device)

    def _free(self, x: Tensor, g: Tensor, rows: Optional[Tensor], shape) -> Tensor:
        """1 where a coordinate may move downhill, 0 where the box holds it (projection probe)."""
        probe = self.context.project((x - 1e-4 * g.sign()).reshape(shape), rows).reshape(x.shape)
        return ((probe != x) | (g == 0)).to(x.dtype)

    def _direction(self, g: Tensor, s: Tensor, y: Tensor, valid: Tensor) -> Tensor:
        """Two-loop recursion, batched over rows; invalid pairs contribute nothing."""
        q = g.clone()
        sy = (s * y).sum(dim=2)  # (m, rows)
        rho = torch.where(valid, 1.0 / sy.where(valid, torch.ones_like(sy)), torch.zeros_like(sy))
        alpha = torch.zeros_like(sy)
        for i in range(self.memory - 1, -1, -1):
            alpha[i] = rho[i] * (s[i] * q).sum(dim=1)
            q = q - alpha[i, :, None] * y[i]
        newest = valid.long().cumsum(0).argmax(0)  # index of the last valid pair per row
        yy = (y * y).sum(dim=2).gather(0, newest[None]).squeeze(0)
        gamma = torch.where(valid.any(0), sy.gather(0, newest[None]).squeeze(0) / yy.clamp_min(1e-30),
                            torch.ones_like(yy))
        r = gamma[:, None] * q
        for i in range(self.memory):
            beta = rho[i] * (y[i] * r).sum(dim=1)
            r = r + (alpha[i] - beta)[:, None] * s[i]
        return -r

    def observe(self, w, loss, grad, rows, success=None):
        if grad is None:  # the loop's closing evaluation: nothing to step from
            return
        shape = w.shape
        n = w.shape[0]
        wf, gf, loss = w.reshape(n, -1), grad.reshape(n, -1), loss.detach()
        x, f, g = _rows(self._x, rows), _rows(self._f, rows), _rows(self._g, rows)
        started = _rows(self._started, rows)
        move = wf - x
        accept = ~started | (loss <= f + self.armijo * (g * move).sum(dim=1))
        # a new curvature pair from every accepted move that has positive curvature
        s_new, y_new = move, gf - g
        sy = (s_new * y_new).sum(dim=1)
        store = accept & started & (sy > 1e-10 * s_new.norm(dim=1) * y_new.norm(dim=1))
        S, Y, V = _rows_pairs(self._s, rows), _rows_pairs(self._y, rows), _rows_pairs(self._valid, rows)
        S = torch.where(store[None, :, None], torch.cat([S[1:], s_new[None]]), S)
        Y = torch.where(store[None, :, None], torch.cat([Y[1:], y_new[None]]), Y)
        V = torch.where(store[None], torch.cat([V[1:], torch.ones_like(V[:1])]), V)
        x = torch.where(accept[:, None], wf, x)
        f = torch.where(accept, loss, f)
        g = torch.where(accept[:, None], gf, g)
        free = self._free(x, g, rows, shape)
        d = self._direction(g * free, S, Y, V) * free
        descent = (d * g).sum(dim=1) < 0
        lost = accept & ~descent  # curvature information no longer gives a descent direction
        V = torch.where(lost[None], torch.zeros_like(V), V)
        steepest = -g * free
        d = torch.where(lost[:, None] | ~V.any(0)[:, None], steepest, d)
        first = accept & ~V.any(0)
        t_first = self.initial / d.norm(dim=1).clamp_min(1e-30)
        t = torch.where(accept, torch.where(first, t_first, torch.ones_like(t_first)),
                        _rows(self._t, rows) * self.shrink)
        old_d = _rows(self._d, rows)
        d = torch.where(accept[:, None], d, old_d)
        for store_, value in ((self._x, x), (self._f, f), (self._g, g), (self._d, d), (self._t, t)):
            _put(store_, rows, value)
        _put(self._started, rows, torch.ones_like(started))
        _put_pairs(self._s, rows, S)
        _put_pairs(self._y, rows, Y)
        _put_pairs(self._valid, rows, V)

    def step(self, w, grad, rows):
        x, d, t = _rows(self._x, rows), _rows(self._d, rows), _rows(self._t, rows)
        return (x + t[:, None] * d).reshape(w.shape)


def _rows_pairs(store: Tensor, rows: Optional[Tensor]) -> Tensor:
    return store if rows is None else store[:, rows]


def _put_pairs(store: Tensor, rows: Optional[Tensor], value: Tensor) -> None:
    if rows is None:
        store.copy_(value)
    else:
        store[:, rows] = value
