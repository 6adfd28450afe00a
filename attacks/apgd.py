"""APGD-CE, APGD-DLR and targeted APGD-DLR (Croce & Hein 2020): PGD without a step size to tune.

Recipes over :func:`robustgan.optim.optimize` with the :class:`~robustgan.optim.APGD` step rule;
APGD-T runs once per target class (the k-th most likely classes at the clean point), each time
only on the points that are still unbroken.
"""
from __future__ import annotations

from typing import Optional, Union

import torch
from torch import Tensor, nn

from robustgan.objectives import TargetedDLR
from robustgan.optim import APGD, Ball, Box, frozen, optimize, parse_norm, uniform_in_ball

from ._common import AttackResult, Queries, Norm, adversarial_loss, finish, fooled, generator_for, prepare


def apgd(model: nn.Module, x: Tensor, y: Tensor, eps: Union[float, Tensor], *, norm: Norm = "linf",
         loss: str = "ce", steps: int = 100, restarts: int = 1, early_stop: bool = True,
         seed: Optional[int] = 0, generator: Optional[torch.Generator] = None,
         progress: bool = False) -> AttackResult:
    """Untargeted APGD on the cross-entropy (``loss='ce'``) or the scale-invariant DLR loss."""
    y, _, eps = prepare(model, x, y, None, eps)
    p = parse_norm(norm)
    res = optimize(
        model, x, adversarial_loss(loss, False), step=APGD(p), steps=steps,
        constraint=Ball(p, eps) & Box(0, 1), target=y, restarts=restarts, init=uniform_in_ball(p),
        success=fooled(False), stop_on_success=early_stop, generator=generator_for(seed, generator),
        progress=progress, desc=f"APGD-{loss.upper()}",
    )
    return finish(model, res.x, x, y, None, p, res.steps, res.success, queries=res)


@torch.no_grad()
def ranked_targets(model: nn.Module, x: Tensor, count: int) -> Tensor:
    """(count, N): the 2nd, 3rd, … most likely class of each clean input."""
    with frozen([model]):
        logits = model(x)
    if count > logits.shape[1] - 1:
        raise ValueError(f"at most {logits.shape[1] - 1} target classes, got {count}")
    return logits.argsort(dim=1, descending=True)[:, 1:count + 1].t()


def apgd_targeted(model: nn.Module, x: Tensor, y: Tensor, eps: Union[float, Tensor], *,
                  norm: Norm = "linf", targets: int = 9, steps: int = 100, restarts: int = 1,
                  seed: Optional[int] = 0, generator: Optional[torch.Generator] = None,
                  progress: bool = False) -> AttackResult:
    """APGD-T: targeted DLR toward each of the ``targets`` runner-up classes in turn; a point counts
    as broken when it is misclassified (any class), as in AutoAttack."""
    y, _, eps = prepare(model, x, y, None, eps)
    p = parse_norm(norm)
    eps_all = eps if isinstance(eps, Tensor) and eps.dim() > 0 else torch.full((x.shape[0],), float(eps))
    eps_all = eps_all.to(x.device)
    order = ranked_targets(model, x, min(targets, num_classes(model, x) - 1))
    gen = generator_for(seed, generator)
    x_adv, success = x.clone(), torch.zeros(x.shape[0], dtype=torch.bool, device=x.device)
    spent = Queries(x.shape[0], x.device).add_forward()  # the clean pass that ranks the targets
    for t in order:
        alive = (~success).nonzero().squeeze(1)
        if alive.numel() == 0:
            break
        res = optimize(
            model, x[alive], -TargetedDLR(t[alive]), step=APGD(p), steps=steps,
            constraint=Ball(p, eps_all[alive]) & Box(0, 1), target=y[alive], restarts=restarts,
            init=uniform_in_ball(p), success=fooled(False), stop_on_success=True, generator=gen,
            progress=progress, desc="APGD-T",
        )
        spent.add(res, alive)
        x_adv[alive[res.success]] = res.x[res.success]
        success[alive[res.success]] = True
    return finish(model, x_adv, x, y, None, p, None, success, queries=spent)


@torch.no_grad()
def num_classes(model: nn.Module, x: Tensor) -> int:
    with frozen([model]):
        return int(model(x[:1]).shape[1])
