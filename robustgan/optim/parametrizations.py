"""What the optimiser actually moves: raw pixels, or a variable mapped into the box by tanh.

A parametrisation maps the optimisation variable ``w`` to the model input ``x``. Constraints act on
``w`` (for raw pixels ``w`` is ``x``); a change of variables such as tanh removes the box
constraint altogether (Carlini & Wagner 2017).
"""
from __future__ import annotations

from typing import Iterable

import torch
from torch import Tensor, nn


class Parametrization:
    """Identity on pixels; subclasses change variables.

    ``keep_variable``: whether :func:`~robustgan.optim.optimize` returns the kept variable beside
    the input (``OptimizeResult.variable``), for variables worth having (a generator's latent).
    """

    keep_variable: bool = False

    def to_variable(self, x: Tensor) -> Tensor:
        return x

    def to_input(self, w: Tensor) -> Tensor:
        return w

    def to_input_for(self, w: Tensor, samples: Tensor) -> Tensor:
        """The inputs of rows that belong to ``samples``: what the optimiser calls. A map that
        depends on the sample (one generator per sample) overrides it; the others ignore it."""
        return self.to_input(w)

    def modules(self) -> Iterable[nn.Module]:
        """Networks inside the map (e.g. a generator): frozen during an optimisation like the model."""
        return ()


class Pixels(Parametrization):
    """Optimise the pixels themselves."""


class TanhBox(Parametrization):
    """x = lo + (hi − lo)·(tanh(w) + 1)/2: every w gives a valid image, so no box projection is needed."""

    def __init__(self, lo: float = 0.0, hi: float = 1.0, margin: float = 1e-6):
        self.lo, self.hi, self.margin = lo, hi, margin

    def to_variable(self, x: Tensor) -> Tensor:
        unit = (x - self.lo) / (self.hi - self.lo) * 2 - 1
        return torch.atanh(unit.clamp(-1 + self.margin, 1 - self.margin))

    def to_input(self, w: Tensor) -> Tensor:
        return self.lo + (self.hi - self.lo) * (torch.tanh(w) + 1) / 2
