"""Targeted attacks run toward each runner-up class in turn (APGD-T, FAB-T), on the points still unbroken."""
from __future__ import annotations

from typing import Callable, Tuple

import torch
from torch import Tensor, nn

from robustgan.optim import frozen

from ._common import Queries


@torch.no_grad()
def ranked_targets(model: nn.Module, x: Tensor, count: int) -> Tensor:
    """(count, N): the 2nd, 3rd, … most likely class of each clean input."""
    with frozen([model]):
        logits = model(x)
    if count > logits.shape[1] - 1:
        raise ValueError(f"at most {logits.shape[1] - 1} target classes, got {count}")
    return logits.argsort(dim=1, descending=True)[:, 1:count + 1].t()


@torch.no_grad()
def num_classes(model: nn.Module, x: Tensor) -> int:
    with frozen([model]):
        return int(model(x[:1]).shape[1])


def per_target(model: nn.Module, x: Tensor, num_targets: int,
               toward: Callable[[Tensor, Tensor], tuple]) -> Tuple[Tensor, Tensor, Tensor, Queries]:
    """``toward(alive, goal)`` attacks the points ``alive`` toward their classes ``goal`` and returns
    (images, success, steps used, passes spent: anything with per-point ``forwards``/``backwards``).
    It runs for each of the ``num_targets`` most likely other classes on the points no earlier target
    broke; returns the kept images, success, the steps summed over targets and the passes."""
    order = ranked_targets(model, x, min(num_targets, num_classes(model, x) - 1))
    n = x.shape[0]
    x_adv, success = x.clone(), torch.zeros(n, dtype=torch.bool, device=x.device)
    steps = torch.zeros(n, dtype=torch.long, device=x.device)
    spent = Queries(n, x.device).add_forward()  # the clean pass that ranks the targets
    for goal in order:
        alive = (~success).nonzero().squeeze(1)
        if alive.numel() == 0:
            break
        found, won, used_steps, passes = toward(alive, goal[alive])
        spent.add(passes, alive)
        steps[alive] += used_steps.to(steps.device).long()
        x_adv[alive[won]] = found[won]
        success[alive[won]] = True
    return x_adv, success, steps, spent
