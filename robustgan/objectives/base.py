"""Objectives are per-row losses over an Evaluation; they add, subtract and scale like numbers."""
from __future__ import annotations

from typing import FrozenSet, Union

import torch
from torch import Tensor

Weight = Union[float, Tensor]


class Objective:
    """Maps an :class:`~robustgan.optim.Evaluation` to one value per row (the optimiser minimises).

    ``layers`` names the model layers whose outputs the objective reads from ``ev.features``.
    """

    layers: FrozenSet[str] = frozenset()

    def __call__(self, ev) -> Tensor:
        raise NotImplementedError

    def __add__(self, other: "Objective") -> "Objective":
        return Sum(self, other)

    def __sub__(self, other: "Objective") -> "Objective":
        return Sum(self, Scaled(other, -1.0))

    def __mul__(self, weight: Weight) -> "Objective":
        return Scaled(self, weight)

    __rmul__ = __mul__

    def __neg__(self) -> "Objective":
        return Scaled(self, -1.0)


class Sum(Objective):
    def __init__(self, *terms: Objective):
        self.terms = terms
        self.layers = frozenset().union(*(t.layers for t in terms))

    def __call__(self, ev) -> Tensor:
        return sum(t(ev) for t in self.terms)

    def __repr__(self) -> str:
        return " + ".join(map(repr, self.terms))


class Scaled(Objective):
    """``weight · term``; a tensor weight holds one value per *sample* (gathered per row)."""

    def __init__(self, term: Objective, weight: Weight):
        self.term, self.weight = term, weight
        self.layers = term.layers

    def __call__(self, ev) -> Tensor:
        w = self.weight
        if isinstance(w, Tensor) and w.dim() > 0:
            w = w.to(ev.x.device)[ev.samples]
        return w * self.term(ev)

    def __repr__(self) -> str:
        w = "c" if isinstance(self.weight, Tensor) else f"{self.weight:g}"
        return f"{w}·{self.term!r}"


def as_objective(fn, name: str = "custom") -> Objective:
    """Wrap a plain ``fn(ev) -> Tensor`` so it composes."""

    class _Fn(Objective):
        def __call__(self, ev):
            return fn(ev)

        def __repr__(self):
            return name

    return _Fn()
