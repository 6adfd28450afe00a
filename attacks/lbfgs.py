"""Box-constrained L-BFGS (Szegedy et al. 2013): min c·‖r‖₂ + loss(x + r, t) s.t. x + r ∈ [0, 1].

For each sample the search over c keeps the smallest distortion that reaches the goal.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from robustgan.objectives import CrossEntropy, Distance, Margin
from robustgan.optim import LBFGS, Box, lp_norm, optimize, search_penalty
from robustgan.validation import check_number, check_positive_int

from ._common import AttackResult, Queries, budget_steps, finish, fooled, prepare, renamed, smallest_success


@renamed(max_iter="steps")
def lbfgs(model: nn.Module, x: Tensor, y: Tensor, *, target: Optional[Tensor] = None,
          c: float = 1.0, search_rounds: int = 8, steps: int = 100,
          queries: Optional[int] = None, progress: bool = False) -> AttackResult:
    """Targeted when ``target`` is given (the paper's setting, loss CE(x + r, t)); untargeted
    otherwise, minimising the margin z_y − max_{i≠y} z_i until another class wins.

    A larger c penalises distortion more: success raises c, failure lowers it (bisection in log
    space once bracketed). Each sample runs its own projected L-BFGS (:class:`~robustgan.optim.LBFGS`:
    own line search and curvature history), so a batch is solved as well as each image alone.
    Samples that never succeed keep their input unchanged. ``steps`` counts evaluations (one
    forward and one backward pass each) per round; ``queries``, a per-sample budget split over
    the rounds, caps it (see :func:`~attacks._common.budget_steps`).
    """
    y, target, _ = prepare(model, x, y, target)
    c = check_number(c, "c", above=0)
    search_rounds = check_positive_int(search_rounds, "search_rounds")
    steps = budget_steps(steps, queries, runs=search_rounds)
    targeted = target is not None
    goal = target if targeted else y
    adversarial = CrossEntropy() if targeted else Margin(confidence=0.0)

    success = fooled(targeted)
    spent = Queries(x.shape[0], x.device)

    def run(weights: Tensor, start: Tensor):
        return optimize(
            model, start, weights * Distance(2) + adversarial, origin=x,
            step=LBFGS(), steps=steps, constraint=Box(0, 1), target=goal,
            success=success, score=smallest_success(2, success), progress=progress, desc="L-BFGS",
        )

    initial = torch.full((x.shape[0],), float(c), device=x.device)
    best, _, found, _ = search_penalty(run, initial, search_rounds, raise_on_success=True,
                                       distance=lambda z: lp_norm(z - x, 2), origin=x, on_result=spent.add_run)
    x_adv = torch.where(found.reshape(-1, 1, 1, 1), best, x)
    return finish(model, x_adv, x, y, target, 2.0, spent.steps, queries=spent)
