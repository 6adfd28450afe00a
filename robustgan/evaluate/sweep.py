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

from ..models.predict import predict
from .survivors import attack_survivors


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


def sweep_slice(model: nn.Module, x: Tensor, y: Tensor, clean: Tensor, eps: Sequence[float],
                attack: Callable) -> Dict:
    """The sweep on one slice of examples: each ε, in increasing order, attacks the slice's survivors.

    Returns ``robust`` ((len(eps), n) bool), ``attacked`` (points attacked per ε) and, per ε, the
    slice-local indices of the points broken there (``broken``) and their images (``images``).
    """
    alive = clean.clone()
    robust, attacked, broken, images = [], [], [], []
    for e in eps:
        hit = attack_survivors(model, x, y, alive, attack, e)
        attacked.append(hit.attacked)
        broken.append(hit.index)
        images.append(hit.x)
        robust.append(alive.clone())
    return {"robust": torch.stack(robust) if robust else torch.zeros(0, len(y), dtype=torch.bool),
            "attacked": attacked, "broken": broken, "images": images}


def assemble_sweep(norm: str, eps: Sequence[float], clean: Tensor, parts: List[Dict],
                   starts: Sequence[int]) -> SweepResult:
    """One :class:`SweepResult` from the slices' results; ``starts[k]`` is slice k's first index."""
    eps = list(eps)
    robust = torch.cat([p["robust"] for p in parts], dim=1) if parts else torch.zeros(len(eps), 0, dtype=torch.bool)
    attacked = [sum(p["attacked"][k] for p in parts) for k in range(len(eps))]
    adversarial, broken_index = {}, {}
    for k, e in enumerate(eps):
        idx = [p["broken"][k] + s for p, s in zip(parts, starts)]
        if idx and sum(int(i.numel()) for i in idx):
            broken_index[e] = torch.cat(idx)
            adversarial[e] = torch.cat([p["images"][k] for p in parts])
    return SweepResult(norm, eps, robust, clean.clone(), adversarial, broken_index, attacked)


def robustness_sweep(model: nn.Module, x: Tensor, y: Tensor, eps: Sequence[float], attack: Callable,
                     norm: str, batch_size: int = 500, clean: Tensor = None, progress: bool = False,
                     desc: str = "sweep") -> SweepResult:
    """``attack(model, xb, yb, eps) -> AttackResult``; eps are attacked in increasing order, each on
    the points of its batch that survived the smaller ones."""
    eps = sorted(float(e) for e in eps)
    clean = predict(model, x, batch_size) == y if clean is None else clean
    starts = list(range(0, len(y), batch_size))
    parts = [sweep_slice(model, x[s:s + batch_size], y[s:s + batch_size], clean[s:s + batch_size], eps, attack)
             for s in tqdm(starts, desc=desc, disable=not progress, leave=False)]
    return assemble_sweep(norm, eps, clean, parts, starts)


def per_class_accuracy(mask: Tensor, y: Tensor, num_classes: int) -> List[float]:
    out = []
    for c in range(num_classes):
        sel = y == c
        out.append(float(mask[sel].float().mean()) if bool(sel.any()) else float("nan"))
    return out
