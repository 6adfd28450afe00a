"""Robust accuracy over a sweep of ε, attacking each larger ε only on the points that survived.

A point fooled inside a small ball is fooled inside every larger one, so the sweep never spends
gradients on points already broken; with ``early_stop`` the attack itself also retires points the
moment they are fooled.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Sequence

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from ..optim.freeze import frozen


@dataclass
class SweepResult:
    norm: str
    eps: List[float]
    robust: Tensor  # (len(eps), N) bool: still correct under attack at eps
    clean: Tensor  # (N,) bool
    adversarial: Dict[float, Tensor]  # eps -> adversarial images of the points broken at that eps
    broken_index: Dict[float, Tensor]  # eps -> indices (into N) of those points
    attacked: List[int]  # points attacked at each eps

    def accuracy(self) -> List[float]:
        return [float(r.float().mean()) for r in self.robust]


@torch.no_grad()
def predict(model: nn.Module, x: Tensor, batch_size: int) -> Tensor:
    with frozen([model]):
        return torch.cat([model(x[i:i + batch_size]).argmax(1) for i in range(0, len(x), batch_size)])


def robustness_sweep(model: nn.Module, x: Tensor, y: Tensor, eps: Sequence[float], attack: Callable,
                     norm: str, batch_size: int = 500, clean: Tensor = None, progress: bool = False,
                     desc: str = "sweep") -> SweepResult:
    """``attack(model, xb, yb, eps) -> AttackResult``; eps are attacked in increasing order."""
    eps = sorted(float(e) for e in eps)
    alive = predict(model, x, batch_size) == y if clean is None else clean.clone()
    clean_mask = alive.clone()
    robust, adversarial, broken_index, attacked = [], {}, {}, []
    for e in tqdm(eps, desc=desc, disable=not progress, leave=False):
        idx = alive.nonzero().squeeze(1)
        attacked.append(int(idx.numel()))
        fooled_idx, fooled_x = [], []
        for start in range(0, idx.numel(), batch_size):
            part = idx[start:start + batch_size]
            res = attack(model, x[part], y[part], e)
            fooled_idx.append(part[res.success])
            fooled_x.append(res.x[res.success])
        if fooled_idx:
            b = torch.cat(fooled_idx)
            alive[b] = False
            broken_index[e], adversarial[e] = b, torch.cat(fooled_x)
        robust.append(alive.clone())
    return SweepResult(norm, eps, torch.stack(robust) if robust else torch.empty(0), clean_mask,
                       adversarial, broken_index, attacked)


def per_class_accuracy(mask: Tensor, y: Tensor, num_classes: int) -> List[float]:
    out = []
    for c in range(num_classes):
        sel = y == c
        out.append(float(mask[sel].float().mean()) if bool(sel.any()) else float("nan"))
    return out
