"""From minimal-distortion attacks, the whole robust-accuracy-vs-ε curve in one run, and their envelope.

A minimal-norm attack gives, per point, the smallest adversarial distortion it found (∞ where it
found none, 0 where the clean point is already misclassified). The robust accuracy at ε is then
the share of points whose distance exceeds ε. Several attacks on the same points give several
upper bounds per point; their per-point minimum, the *envelope*, bounds the true minimal distance
more tightly than any one of them.
"""
from __future__ import annotations

from typing import Dict, List, Sequence

import torch
from torch import Tensor


def per_point_distance(distance: Tensor, success: Tensor, clean: Tensor) -> Tensor:
    """The distance that decides robustness: the attack's where it succeeded, ∞ where it failed,
    0 where the clean point is misclassified."""
    d = torch.where(success, distance, torch.full_like(distance, float("inf")))
    return torch.where(clean, d, torch.zeros_like(d))


def distortion_curve(distance: Tensor, success: Tensor, clean: Tensor, eps: Sequence[float]) -> List[float]:
    """Accuracy at ε = share of points correct on clean input whose minimal adversarial
    distortion exceeds ε (a failed attack counts as robust at every ε)."""
    return accuracy_at(per_point_distance(distance, success, clean), eps)


def accuracy_at(d: Tensor, eps: Sequence[float]) -> List[float]:
    """Share of points whose decisive distance exceeds each ε."""
    return [float((d > e).float().mean()) for e in eps]


def envelope(distances: Dict[str, Tensor]) -> Tensor:
    """Per point, the smallest decisive distance over every attack (same points, same order)."""
    return torch.stack(list(distances.values())).amin(dim=0)


def optimality(d_attack: Tensor, d_best: Tensor, eps_max: float) -> float:
    """How close an attack's curve is to the envelope (after AttackBench's local optimality, Cinà
    et al. 2024): the area under the envelope's robust-accuracy curve on [0, ε_max] divided by the
    area under the attack's. Since the area under such a curve is the mean of min(d, ε_max), this
    is a ratio of capped mean distances; 1 means the attack is the envelope."""
    cap = float(eps_max)
    a_attack = float(d_attack.clamp(max=cap).mean())
    a_best = float(d_best.clamp(max=cap).mean())
    return 1.0 if a_attack == 0 else a_best / a_attack


def distortion_summary(distance: Tensor, success: Tensor) -> Dict[str, float]:
    ok = distance[success]
    if ok.numel() == 0:
        return {"success_rate": 0.0, "median": float("nan"), "mean": float("nan")}
    return {"success_rate": float(success.float().mean()), "median": float(ok.median()),
            "mean": float(ok.mean()), "p90": float(ok.quantile(0.9))}
