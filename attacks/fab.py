"""FAB-T (Croce & Hein 2020): the minimal-distortion boundary attack, toward each runner-up class.

A recipe over :func:`robustgan.optim.optimize` with the :class:`~robustgan.optim.FABStep` rule on
the decision function z_y − z_t; a point counts as broken when it is misclassified within ε.
"""
from __future__ import annotations

from typing import Union

import torch
from torch import Tensor, nn

from robustgan.objectives import LogitGap
from robustgan.optim import Box, FABStep, lp_norm, optimize, parse_norm
from robustgan.validation import check_positive_int

from ._common import AttackResult, Norm, finish, fooled_within, prepare, renamed
from ._targets import per_target


@renamed(targets="num_targets")
def fab_targeted(model: nn.Module, x: Tensor, y: Tensor, eps: Union[float, Tensor], *, norm: Norm = "linf",
                 num_targets: int = 9, steps: int = 100, progress: bool = False) -> AttackResult:
    """FAB-T with ε: per target class (the ``num_targets`` most likely other ones), ``steps``
    boundary steps from the clean point on the points still unbroken; keeps per point the closest
    misclassified iterate within ε. Deterministic: every run starts at the clean point and draws
    no random numbers, so it takes no ``seed``."""
    y, _, eps = prepare(model, x, y, None, eps)
    p = parse_norm(norm)
    steps = check_positive_int(steps, "steps", minimum=0)
    num_targets = check_positive_int(num_targets, "num_targets")
    eps_all = eps if isinstance(eps, Tensor) and eps.dim() > 0 else torch.full((x.shape[0],), float(eps))
    eps_all = eps_all.to(x.device)

    def toward(alive: Tensor, goal: Tensor) -> tuple:
        res = optimize(
            model, x[alive], LogitGap(goal), step=FABStep(p), steps=steps, constraint=Box(0, 1),
            target=y[alive], success=fooled_within(p, eps_all[alive]), stop_on_success=True,
            score=lambda ev, loss: lp_norm(ev.x - ev.origin, p), progress=progress, desc="FAB-T",
        )
        return res.x, res.success, res.steps, res

    x_adv, success, steps_used, spent = per_target(model, x, num_targets, toward)
    return finish(model, x_adv, x, y, None, p, steps_used, success, queries=spent)
