"""The Square attack's random search (Andriushchenko et al. 2020) as a gradient-free step rule.

Each step proposes a change of one random square window of the current point; the loop evaluates
the proposal (one forward pass, no backward), and :meth:`SquareSearch.observe` keeps it only if the
loss went down. The window's side shrinks on the paper's schedule as the budget is spent. Because
it never looks at a gradient, it is the check that a model's robustness is not an artefact of
masked gradients.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor

from ..steps import RuleContext, StepRule, _bcast, _put, _rows

_HALVINGS = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)


def square_fraction(p_init: float, step: int, steps: int) -> float:
    """The fraction of pixels a window covers at ``step``: p_init halved at the paper's iteration
    marks, which are given for a budget of 10,000 queries and rescaled to ``steps``."""
    it = int(step / max(steps, 1) * 10000)
    halvings = sum(it > mark for mark in _HALVINGS)
    return p_init / 2 ** halvings


def _signs(shape, generator, device, dtype) -> Tensor:
    return (torch.randint(0, 2, shape, generator=generator).to(device=device, dtype=dtype) * 2 - 1)


def _rectangles(rows: int, cols: int) -> Tensor:
    """Concentric rectangles with weights 1/(k+1)², unit L2 norm: the paper's centre-heavy shape."""
    delta = torch.zeros(rows, cols)
    cx, cy = rows // 2, cols // 2
    for k in range(max(rows // 2 + 1, cols // 2 + 1)):
        delta[max(cx - k, 0):min(cx + k + 1, rows), max(cy - k, 0):min(cy + k + 1, cols)] += 1.0 / (k + 1) ** 2
    return delta / delta.norm()


def _pseudo_gaussian(s: int, flip: bool) -> Tensor:
    """Two opposite-signed rectangle stacks in an s×s window (L2 Square's update shape)."""
    delta = torch.zeros(s, s)
    delta[: s // 2] = _rectangles(s // 2, s)
    delta[s // 2:] = -_rectangles(s - s // 2, s)
    delta = delta / delta.norm()
    return delta.t() if flip else delta


def square_init(p: float, generator: Optional[torch.Generator] = None):
    """The paper's starting points: vertical ±ε stripes (L∞) or a grid of ±pseudo-Gaussian tiles
    scaled to the L2 sphere (L2). Returns an ``init`` for :func:`robustgan.optim.optimize`."""

    def init(origin: Tensor, radius: Tensor, gen: Optional[torch.Generator]) -> Tensor:
        g = gen if gen is not None else generator
        n, c, h, w = origin.shape
        r = _bcast(radius, origin)
        if p == float("inf"):
            stripes = _signs((n, c, 1, w), g, origin.device, origin.dtype)
            return (origin + r * stripes).clamp(0, 1)
        s = max(h // 5, 1)
        delta = torch.zeros_like(origin)
        start = (h - s * 5) // 2 if h >= 5 else 0
        for i in range(start, h - s + 1, s):
            for j in range(start, w - s + 1, s):
                tile = _pseudo_gaussian(s, False).to(origin)
                delta[:, :, i:i + s, j:j + s] += tile * _signs((n, c, 1, 1), g, origin.device, origin.dtype)
        norm = delta.reshape(n, -1).norm(dim=1).clamp_min(1e-12)
        return (origin + r * delta / _bcast(norm, delta)).clamp(0, 1)

    return init


class SquareSearch(StepRule):
    """Random square-window search for an L∞ (``p=inf``) or L2 (``p=2``) ball; no gradients.

    Proposals are clipped to the box of the loop's constraint (the pixel range [0, 1] without one).
    """

    needs_grad = False

    def __init__(self, p: float = float("inf"), p_init: float = 0.8,
                 generator: Optional[torch.Generator] = None):
        if p not in (2, float("inf")):
            raise ValueError(f"Square supports p=2 or p=inf, got {p}")
        if not 0 < p_init <= 1:
            raise ValueError(f"p_init must be in (0, 1], got {p_init}")
        self.p, self.p_init, self.generator = p, p_init, generator

    def reset(self, w: Tensor, samples: Tensor) -> None:
        super().reset(w, samples)
        if w.dim() != 4:
            raise ValueError(f"Square needs images (N, C, H, W), got shape {tuple(w.shape)}")
        self._current = w.detach().clone()
        self._loss = torch.full((w.shape[0],), float("inf"), device=w.device, dtype=w.dtype)
        self._t = 0

    def bind(self, context: RuleContext) -> None:
        super().bind(context)
        if context.radius is None:
            raise ValueError("Square needs a ball constraint (ε)")

    def observe(self, w, loss, grad, rows):
        better = loss < _rows(self._loss, rows)
        _put(self._loss, rows, loss, better)
        _put(self._current, rows, w, better)

    def _randint(self, high: int) -> int:
        return int(torch.randint(0, max(high, 1), (1,), generator=self.generator))

    def step(self, w, grad, rows):
        current = _rows(self._current, rows)
        origin = _rows(self.context.origin, rows)
        eps = _bcast(_rows(self.context.radius, rows), current)
        n, c, h, wd = current.shape
        p = square_fraction(self.p_init, self._t, self.context.steps)
        self._t += 1
        if self.p == float("inf"):
            return self._linf(current, origin, eps, p, n, c, h, wd)
        return self._l2(current, origin, eps, p, n, c, h, wd)

    def _linf(self, current, origin, eps, p, n, c, h, w):
        s = min(max(int(round(math.sqrt(p * h * w))), 1), h - 1)
        i, j = self._randint(h - s + 1), self._randint(w - s + 1)
        signs = _signs((n, c, 1, 1), self.generator, current.device, current.dtype)
        lo, hi = self.context.bounds()
        window = (origin[:, :, i:i + s, j:j + s] + eps * signs).clamp(lo, hi)
        unchanged = (window - current[:, :, i:i + s, j:j + s]).abs().reshape(n, -1).amax(dim=1) < 1e-7
        if bool(unchanged.any()):  # the draw repeats the current window: take the opposite corner
            window = torch.where(_bcast(unchanged, window),
                                 (origin[:, :, i:i + s, j:j + s] - eps * signs).clamp(lo, hi), window)
        proposal = current.clone()
        proposal[:, :, i:i + s, j:j + s] = window
        return proposal

    def _l2(self, current, origin, eps, p, n, c, h, w):
        s = max(int(round(math.sqrt(p * h * w))), 3)
        s = min(s + (s % 2 == 0), h)
        i, j = self._randint(h - s + 1), self._randint(w - s + 1)
        i2, j2 = self._randint(h - s + 1), self._randint(w - s + 1)
        delta = current - origin
        both = torch.zeros_like(delta)
        both[:, :, i:i + s, j:j + s] = 1
        both[:, :, i2:i2 + s, j2:j2 + s] = 1
        window_norm = delta[:, :, i:i + s, j:j + s].pow(2).sum(dim=(-2, -1), keepdim=True).sqrt()
        image_norm = delta.pow(2).sum(dim=(-2, -1), keepdim=True).sqrt()
        both_norm = (delta * both).pow(2).sum(dim=(-2, -1), keepdim=True).sqrt()
        flip = bool(torch.randint(0, 2, (1,), generator=self.generator))
        shape = _pseudo_gaussian(s, flip).to(delta)
        update = shape * _signs((n, c, 1, 1), self.generator, delta.device, delta.dtype)
        update = update + delta[:, :, i:i + s, j:j + s] / (window_norm + 1e-12)
        budget = ((eps ** 2 - image_norm ** 2).clamp_min(0) / c + both_norm ** 2).sqrt()
        update = update / update.pow(2).sum(dim=(-2, -1), keepdim=True).sqrt().clamp_min(1e-12) * budget
        delta = delta.clone()
        delta[:, :, i2:i2 + s, j2:j2 + s] = 0
        delta[:, :, i:i + s, j:j + s] = update
        norm = delta.reshape(n, -1).norm(dim=1).clamp_min(1e-12)
        return (origin + eps * delta / _bcast(norm, delta)).clamp(*self.context.bounds())
