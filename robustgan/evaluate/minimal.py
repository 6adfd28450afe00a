"""From a minimal-distortion attack, the whole robust-accuracy-vs-ε curve in one run."""
from __future__ import annotations

from typing import Dict, List, Sequence

import torch
from torch import Tensor


def distortion_curve(distance: Tensor, success: Tensor, clean: Tensor, eps: Sequence[float]) -> List[float]:
    """Accuracy at ε = share of points correct on clean input whose minimal adversarial
    distortion exceeds ε (a failed attack counts as robust at every ε)."""
    d = torch.where(success, distance, torch.full_like(distance, float("inf")))
    d = torch.where(clean, d, torch.zeros_like(d))
    return [float((d > e).float().mean()) for e in eps]


def distortion_summary(distance: Tensor, success: Tensor) -> Dict[str, float]:
    ok = distance[success]
    if ok.numel() == 0:
        return {"success_rate": 0.0, "median": float("nan"), "mean": float("nan")}
    return {"success_rate": float(success.float().mean()), "median": float(ok.median()),
            "mean": float(ok.mean()), "p90": float(ok.quantile(0.9))}
