"""DeepFool's step rule (Moosavi-Dezfooli et al. 2016): jump to the zero of the linearised objective.

The objective is a decision value f (positive on the original class's side); its value and
gradient g at x_k define the hyperplane f + g·δ = 0. The smallest move onto it is
  L2:  δ = −(f/‖g‖₂ + ν)·g/‖g‖₂,        L∞:  δ = −(f/‖g‖₁ + ν)·sign(g),
with ν a tiny nudge (in distance units) that lands the point just past the plane, as in the
paper's code. DeepFool overshoots the summed moves: x = x₀ + (1 + overshoot)·Σδ. The rule reads the
sum back from the current, box-projected iterate, Σδ_{<k} = (x_k − x₀)/(1 + overshoot), so
  x_{k+1} = x₀ + (1 + overshoot)·(Σδ_{<k} + δ_k) = x_k + (1 + overshoot)·δ_k
before the loop projects onto the box (the rule never clamps). Without the box this is the paper's
update exactly; with it, a coordinate the box clipped does not keep a hidden excess that later
steps must first undo (summing the unprojected moves, as Foolbox does, yields slightly larger
perturbations). Which decision value to linearise (the nearest of several class boundaries) is
the objective's business, so the rule sees one boundary at a time.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ..steps import StepRule, _bcast, _put, _rows


class DeepFoolStep(StepRule):
    """x_{k+1} = x_k + (1 + overshoot)·δ_k with δ_k the minimal Lp move (p = 2 or ∞) onto the
    objective's linearised zero level set at x_k (see the module docstring)."""

    seeks_boundary = True

    def __init__(self, p: float = 2, overshoot: float = 0.02, nudge: float = 1e-4):
        if p not in (2, float("inf")):
            raise ValueError(f"DeepFool supports p=2 or p=inf, got {p}")
        if not overshoot >= 0:
            raise ValueError(f"overshoot must be >= 0, got {overshoot}")
        self.p, self.overshoot, self.nudge = p, float(overshoot), float(nudge)

    def reset(self, w: Tensor, samples: Tensor) -> None:
        super().reset(w, samples)
        self._f = torch.zeros(w.shape[0], device=w.device, dtype=w.dtype)

    def observe(self, w: Tensor, loss: Tensor, grad: Optional[Tensor], rows: Optional[Tensor]) -> None:
        _put(self._f, rows, loss)

    def step(self, w: Tensor, grad: Tensor, rows: Optional[Tensor]) -> Tensor:
        f = _rows(self._f, rows)
        side = torch.where(f >= 0, 1.0, -1.0).to(f.dtype)  # the nudge points across the plane
        flat = grad.reshape(grad.shape[0], -1)
        if self.p == 2:
            norm = flat.norm(p=2, dim=1).clamp_min(1e-12)
            move = -_bcast((f / norm + side * self.nudge) / norm, grad) * grad
        else:
            norm = flat.abs().sum(dim=1).clamp_min(1e-12)
            move = -_bcast(f / norm + side * self.nudge, grad) * grad.sign()
        return w + (1 + self.overshoot) * move
