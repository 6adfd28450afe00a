"""Retire rows whose iterates have entered a cycle: their outcome can no longer change.

With a memoryless step rule (the next iterate is a function of the current one and its gradient
only: :class:`~robustgan.optim.Sign`, :class:`~robustgan.optim.NormalizedGradient`,
:class:`~robustgan.optim.GradientDescent`), a fixed step size, a deterministic model and objective,
and a deterministic projection, the iterates of a row follow x_{t+1} = F(x_t). Once x_t equals an
earlier x_s the sequence repeats x_s … x_{t−1} forever, every one of them already evaluated and
scored, so the rest of the budget can only revisit them: with ``keep="best"`` the row's result is
final (Doldo et al., CVPR 2025, "Stop walking in circles!"). Sign steps clipped to an L∞ ball ∩ box
land on the ball's faces after a few steps and revisit earlier iterates often on robust points.

Equality is tested on hashes of the exact bits of each iterate: each 32-bit pattern is split into
16-bit halves h_i and hashed by four random integer maps Σ h_i·r_i (r_i < 2²⁰, or fewer bits for
very large inputs, so every sum stays exact in float64 and the hash is one small matrix product).
For two different iterates the difference of their half-words has a non-zero entry d_j, so each
map collides for at most one of the 2²⁰ values of r_j: all four collide with probability below
2⁻⁸⁰, whatever the iterates are. The history is four float64 per row and step.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor

_MAPS = 4
_EXACT = 2 ** 53  # float64 holds every integer below this exactly
_EMPTY = -1.0  # no hash is negative


class CycleDetector:
    """Hash history per row; :meth:`seen` says which rows revisit one of their earlier iterates."""

    def __init__(self, rows: int, steps: int, numel: int, device: torch.device, seed: int = 0x5EED):
        halves = 4 * numel  # a float64 iterate has four half-words per coordinate, a float32 one two
        bits = min(20, int(math.log2(_EXACT / (halves * 2 ** 16))))  # Σ h·r < 2^53: exact sums
        if bits < 8:
            raise ValueError(f"inputs of {numel} values are too large to hash exactly for cycle detection")
        g = torch.Generator().manual_seed(seed)
        self._weights = torch.randint(0, 2 ** bits, (halves, _MAPS), generator=g).to(device=device, dtype=torch.float64)
        self._history = torch.full((steps + 1, rows, _MAPS), _EMPTY, dtype=torch.float64, device=device)
        self._t = 0

    def _hash(self, x: Tensor) -> Tensor:
        flat = x.detach().reshape(x.shape[0], -1)
        if flat.dtype == torch.float64:
            bits = flat.view(torch.int64)
            parts = [(bits >> s) & 0xFFFF for s in (0, 16, 32, 48)]
        else:
            bits = flat.float().view(torch.int32)
            parts = [bits & 0xFFFF, (bits >> 16) & 0xFFFF]
        halves = torch.cat(parts, dim=1).to(torch.float64)
        return halves @ self._weights[: halves.shape[1]]  # (rows, maps), every entry an exact integer

    def seen(self, x: Tensor, rows: Optional[Tensor]) -> Tensor:
        """Record the rows' iterates ``x`` at this step; True where a row revisits an earlier one."""
        h = self._hash(x)
        past = self._history[: self._t] if rows is None else self._history[: self._t, rows]
        repeat = (past == h[None]).all(dim=2).any(dim=0) if self._t else torch.zeros(h.shape[0], dtype=torch.bool,
                                                                                          device=h.device)
        if rows is None:
            self._history[self._t] = h
        else:
            self._history[self._t, rows] = h
        self._t += 1
        return repeat
