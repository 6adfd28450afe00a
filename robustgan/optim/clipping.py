"""Stochastic clipping (Lipton & Tripathi 2017): a coordinate that leaves [lo, hi] is re-drawn uniformly.

Clamping piles coordinates up on the faces of the box, where an inversion stalls; re-drawing them
uniformly inside the box acts like a fresh random restart of just those coordinates, and gives
exact latent recovery where plain clipping does not. It wraps any step rule: the inner rule moves
the variable, then the escaped coordinates are re-drawn.

Randomness is one stream per restart block (rows ``r·N … r·N + N − 1``), seeded from ``seed`` and
``r`` and drawn for the whole block at every step, so restart ``r`` of a run sees the same
re-draws whatever the number of restarts and whichever rows are still active.
"""
from __future__ import annotations

from typing import List, Optional

import torch
from torch import Tensor

from .steps import RuleContext, StepRule


class StochasticClip(StepRule):
    """``inner``'s step, then every coordinate outside ``[lo, hi]`` re-drawn from U(lo, hi)."""

    def __init__(self, inner: StepRule, lo: float = -1.0, hi: float = 1.0, seed: int = 0):
        if not isinstance(inner, StepRule):
            raise TypeError(f"inner must be a StepRule, got {type(inner).__name__}")
        if not float(lo) < float(hi):
            raise ValueError(f"stochastic clipping needs lo < hi, got lo={lo}, hi={hi}")
        self.inner, self.lo, self.hi, self.seed = inner, float(lo), float(hi), int(seed)
        self.needs_grad = inner.needs_grad
        self.redrawn = 0  # coordinates re-drawn in the current run (a diagnostic)
        self._streams: List[torch.Generator] = []
        self._n = 0

    def reset(self, w: Tensor, samples: Tensor) -> None:
        self.inner.reset(w, samples)
        self._n = int(samples.max()) + 1 if samples.numel() else 0
        blocks = w.shape[0] // max(self._n, 1)
        self._streams = [torch.Generator(device=w.device).manual_seed(self.seed * 1_000_003 + r) for r in range(blocks)]
        self._rows = w.shape[0]
        self.redrawn = 0

    def bind(self, context: RuleContext) -> None:
        super().bind(context)
        self.inner.bind(context)

    def observe(self, w: Tensor, loss: Tensor, grad: Optional[Tensor], rows: Optional[Tensor]) -> None:
        self.inner.observe(w, loss, grad, rows)

    def _uniform(self, like: Tensor, rows: Optional[Tensor]) -> Tensor:
        """U(lo, hi) for every row of the run (one stream per restart block), then the active rows."""
        shape = (self._n, *like.shape[1:])
        draws = torch.cat([torch.rand(shape, generator=g, device=like.device, dtype=like.dtype) for g in self._streams])
        draws = self.lo + (self.hi - self.lo) * draws
        return draws if rows is None else draws[rows]

    def step(self, w: Tensor, grad: Tensor, rows: Optional[Tensor]) -> Tensor:
        moved = self.inner.step(w, grad, rows)
        return self.clip(moved, rows)

    def clip(self, w: Tensor, rows: Optional[Tensor] = None) -> Tensor:
        """Re-draw the coordinates of ``w`` outside the box (rows: which rows of the run ``w`` holds)."""
        if not self._streams:
            raise RuntimeError("reset must run first: it sets up the random streams")
        out = (w < self.lo) | (w > self.hi)
        fresh = self._uniform(w, rows)
        if not bool(out.any()):
            return w
        self.redrawn += int(out.sum())
        return torch.where(out, fresh, w)


def stochastic_clip(w: Tensor, lo: float = -1.0, hi: float = 1.0, generator: Optional[torch.Generator] = None) -> Tensor:
    """One stochastic clipping of ``w`` outside a loop (e.g. for starting points)."""
    if not float(lo) < float(hi):
        raise ValueError(f"stochastic clipping needs lo < hi, got lo={lo}, hi={hi}")
    fresh = lo + (hi - lo) * torch.rand(w.shape, generator=generator, device=w.device, dtype=w.dtype)
    return torch.where((w < lo) | (w > hi), fresh, w)
