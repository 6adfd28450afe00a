"""APGD-CE, APGD-DLR and targeted APGD-DLR (Croce & Hein 2020): PGD without a step size to tune.

Recipes over :func:`robustgan.optim.optimize` with the :class:`~robustgan.optim.APGD` step rule;
APGD-T runs once per target class (the k-th most likely classes at the clean point), each time
only on the points that are still unbroken.

L1 (Croce & Hein 2021) starts from Gaussian noise projected onto the ball ∩ box, and can spend its
budget on the paper's ε schedule (``large_reps``): 30% of the steps at 3ε, 30% at 2ε, the rest at
ε, each phase starting from the previous one's best point. A point counts as broken only when it
is misclassified within ε itself.
"""
from __future__ import annotations

import math
from typing import Callable, List, Optional, Tuple, Union

import torch
from torch import Tensor, nn

from robustgan.objectives import TargetedDLR
from robustgan.optim import APGD, Ball, Box, gaussian_noise, optimize, parse_norm, uniform_in_ball
from robustgan.validation import check_positive_int

from ._targets import per_target
from ._common import (AttackResult, Queries, Norm, adversarial_loss, finish, fooled, fooled_within, generator_for,
                      prepare, renamed)


def _rule(p: float, sparsity: Optional[float] = 0.2) -> APGD:
    return APGD(p, sparsity=sparsity)


def _start(p: float):
    return gaussian_noise() if p == 1 else uniform_in_ball(p)


def eps_schedule(steps: int) -> List[Tuple[float, int]]:
    """L1-APGD's (radius factor, steps) phases: 3ε, 2ε, ε for 30%, 30% and the rest of the budget."""
    first = math.ceil(0.3 * steps)
    second = min(first, steps - first)
    return [(3.0, first), (2.0, second), (1.0, max(steps - first - second, 0))]


def _run(model: nn.Module, x: Tensor, y: Tensor, objective_for: Callable[[Tensor], object], p: float,
         eps: Tensor, steps: int, restarts: int, early_stop: bool, large_reps: bool,
         gen: Optional[torch.Generator], progress: bool, desc: str):
    """One APGD attack on all of ``x``; returns (x_adv, success, steps per point, queries).
    ``objective_for(index)`` is the loss for the points ``x[index]``."""
    n = x.shape[0]
    if not large_reps:
        res = optimize(
            model, x, objective_for(torch.arange(n, device=x.device)), step=_rule(p), steps=steps,
            constraint=Ball(p, eps) & Box(0, 1), target=y, restarts=restarts, init=_start(p),
            success=fooled(False), stop_on_success=early_stop, generator=gen, progress=progress, desc=desc,
        )
        return res.x, res.success, res.steps, Queries(n, x.device).add(res)
    if p != 1:
        raise ValueError("large_reps is L1-APGD's ε schedule; use it with norm='l1'")
    x_adv, success = x.clone(), torch.zeros(n, dtype=torch.bool, device=x.device)
    spent = Queries(n, x.device)
    used = torch.zeros(n, dtype=torch.long, device=x.device)
    for _ in range(restarts):  # independent schedules, each on the points the earlier ones left
        alive = (~success).nonzero().squeeze(1)
        current, init = x[alive], _start(p)
        for factor, phase_steps in eps_schedule(steps):
            if alive.numel() == 0:
                break
            res = optimize(
                model, current, objective_for(alive), step=_rule(p, None), steps=phase_steps,
                constraint=Ball(p, factor * eps[alive]) & Box(0, 1), origin=x[alive], target=y[alive],
                init=init, success=fooled_within(p, eps[alive]), stop_on_success=True, generator=gen,
                progress=progress, desc=f"{desc} {factor:g}ε",
            )
            spent.add(res, alive)
            used[alive] += res.steps.to(used.device).long()
            won = res.success
            x_adv[alive[won]] = res.x[won]
            success[alive[won]] = True
            alive, current, init = alive[~won], res.x[~won], None
        x_adv[alive] = current  # the unbroken keep their best point at ε, as without the schedule
    return x_adv, success, used, spent


def _check_budget(steps: int, restarts: int) -> Tuple[int, int]:
    """Whole numbers: 0 steps scores the start alone; at least one restart."""
    return check_positive_int(steps, "steps", minimum=0), check_positive_int(restarts, "restarts")


def _per_sample(eps: Union[float, Tensor], n: int, device: torch.device) -> Tensor:
    eps = eps if isinstance(eps, Tensor) and eps.dim() > 0 else torch.full((n,), float(eps))
    return eps.to(device)


def apgd(model: nn.Module, x: Tensor, y: Tensor, eps: Union[float, Tensor], *, norm: Norm = "linf",
         loss: str = "ce", steps: int = 100, restarts: int = 1, early_stop: bool = False,
         large_reps: bool = False, seed: Optional[int] = 0, generator: Optional[torch.Generator] = None,
         progress: bool = False) -> AttackResult:
    """Untargeted APGD on the cross-entropy (``loss='ce'``) or the scale-invariant DLR loss, in an
    L∞, L2 or L1 ball. ``large_reps`` (L1 only): the 3ε → 2ε → ε schedule, ``restarts`` times
    in sequence on the points still unbroken (AutoAttack's L1 setting: 5 restarts).
    ``early_stop`` retires a point once it is fooled (robust accuracy needs no more); without it
    every point spends the whole budget and keeps its strongest iterate. The ε schedule always
    retires fooled points: each phase hands only the unbroken ones to the next."""
    y, _, eps = prepare(model, x, y, None, eps)
    p = parse_norm(norm)
    steps, restarts = _check_budget(steps, restarts)
    objective = adversarial_loss(loss, False)
    x_adv, success, steps_used, spent = _run(
        model, x, y, lambda index: objective, p, _per_sample(eps, x.shape[0], x.device), steps, restarts,
        early_stop, large_reps, generator_for(seed, generator), progress, f"APGD-{loss.upper()}")
    return finish(model, x_adv, x, y, None, p, steps_used, success, queries=spent)


@renamed(targets="num_targets")
def apgd_targeted(model: nn.Module, x: Tensor, y: Tensor, eps: Union[float, Tensor], *,
                  norm: Norm = "linf", num_targets: int = 9, steps: int = 100, restarts: int = 1,
                  large_reps: bool = False, seed: Optional[int] = 0, generator: Optional[torch.Generator] = None,
                  progress: bool = False) -> AttackResult:
    """APGD-T: targeted DLR toward each of the ``num_targets`` runner-up classes in turn; a point
    counts as broken when it is misclassified (any class), as in AutoAttack, and leaves the runs
    toward the later classes then (the next target runs on the unbroken points only).
    ``large_reps``: as in :func:`apgd` (L1 only)."""
    y, _, eps = prepare(model, x, y, None, eps)
    p = parse_norm(norm)
    steps, restarts = _check_budget(steps, restarts)
    num_targets = check_positive_int(num_targets, "num_targets")
    eps_all = _per_sample(eps, x.shape[0], x.device)
    gen = generator_for(seed, generator)

    def toward(alive: Tensor, goal: Tensor) -> tuple:
        return _run(model, x[alive], y[alive], lambda index: -TargetedDLR(goal[index]), p, eps_all[alive],
                    steps, restarts, True, large_reps, gen, progress, "APGD-T")

    x_adv, success, steps_used, spent = per_target(model, x, num_targets, toward)
    return finish(model, x_adv, x, y, None, p, steps_used, success, queries=spent)
