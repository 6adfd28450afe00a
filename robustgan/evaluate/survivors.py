"""Attack only the points still robust: the step an ε sweep and an attack suite share.

A point broken inside a small ball is broken inside every larger one, and a point one attack of a
suite broke needs no other: both spend their budget on the survivors alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Union

import torch
from torch import Tensor, nn


@dataclass
class Broken:
    """What one attack did to the survivors: the indices (into the attacked points) of those it
    broke, their adversarial images, and the cost."""

    index: Tensor
    x: Tensor
    attacked: int  # how many survivors it ran on
    queries: int  # forward plus backward passes it spent on them


def attack_survivors(model: nn.Module, x: Tensor, y: Tensor, robust: Tensor, attack: Callable,
                     eps: Union[float, Tensor], batch_size: Optional[int] = None) -> Broken:
    """Run ``attack(model, x, y, eps) -> AttackResult`` on the points where ``robust`` is True,
    ``batch_size`` of them at a time (None: all at once), and mark the broken ones False in
    ``robust`` (in place, so the next attack or radius sees the survivors of this one)."""
    alive = robust.nonzero().squeeze(1)
    step = max(int(alive.numel()), 1) if batch_size is None else batch_size
    hits, images, spent = [alive[:0]], [x[:0]], 0
    for start in range(0, alive.numel(), step):
        part = alive[start:start + step]
        res = attack(model, x[part], y[part], eps)
        hits.append(part[res.success])
        images.append(res.x[res.success])
        spent += 0 if res.queries is None else int(res.queries.sum())
    index = torch.cat(hits)
    robust[index] = False
    return Broken(index, torch.cat(images), int(alive.numel()), spent)
