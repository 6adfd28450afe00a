"""Carlini–Wagner L2 (2017): min ‖δ‖² + c·f(x + δ) in tanh space with Adam, binary search over c."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from robustgan.objectives import Distance, Margin, TargetMargin
from robustgan.optim import Adam, TanhBox, lp_norm, optimize, search_penalty
from robustgan.validation import check_number, check_positive_int

from ._common import AttackResult, Queries, budget_steps, finish, fooled, prepare, renamed, smallest_success


@renamed(lr="step_size")
def cw_l2(model: nn.Module, x: Tensor, y: Tensor, *, target: Optional[Tensor] = None,
          c: float = 1.0, confidence: float = 0.0, steps: int = 100, step_size: float = 0.01,
          search_rounds: int = 5, queries: Optional[int] = None, progress: bool = False) -> AttackResult:
    """Per sample, the smallest-L2 successful iterate over all c tried.

    f is the margin max(z_y − max_{i≠y} z_i, −κ) (or its targeted twin); the change of variables
    x = (tanh(w) + 1)/2 keeps every iterate inside the box without projection. A sample not yet
    fooled continues from its last round's closest iterate with a ten times larger c, so the
    rounds add up for points far from the boundary (see :func:`~robustgan.optim.search_penalty`).

    ``step_size``: Adam's learning rate in tanh space. ``queries``: a per-sample budget of
    forward + backward passes, split over the rounds; it caps ``steps`` (see
    :func:`~attacks._common.budget_steps`).
    """
    y, target, _ = prepare(model, x, y, target)
    c = check_number(c, "c", above=0)  # c <= 0 rewards a smaller perturbation over fooling the model
    confidence = check_number(confidence, "confidence", at_least=0)
    step_size = check_number(step_size, "step_size", above=0)
    search_rounds = check_positive_int(search_rounds, "search_rounds")
    steps = budget_steps(steps, queries, runs=search_rounds)
    targeted = target is not None
    margin = TargetMargin(confidence) if targeted else Margin(confidence)
    success = fooled(targeted)
    spent = Queries(x.shape[0], x.device)

    def run(weights: Tensor, start: Tensor):
        rule = Adam(step_size)
        rule.seeks_boundary = True  # the smallest fooling point: judged in the caller's layout
        return optimize(
            model, start, Distance(2, squared=True) + weights * margin, origin=x,
            step=rule, steps=steps, parametrization=TanhBox(0, 1),
            target=target if targeted else y, success=success, score=smallest_success(2, success),
            progress=progress, desc="CW-L2",
        )

    initial = torch.full((x.shape[0],), float(c), device=x.device)
    best, _, found, _ = search_penalty(run, initial, search_rounds, raise_on_success=False,
                                       distance=lambda z: lp_norm(z - x, 2), origin=x, on_result=spent.add_run)
    x_adv = torch.where(found.reshape(-1, 1, 1, 1), best, x)
    return finish(model, x_adv, x, y, target, 2.0, spent.steps, queries=spent)
