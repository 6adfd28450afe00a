"""The growing schedule of a progressive GAN, as a pure function of the step counter (so resume is exact).

Phases of ``phase_steps`` iterations each: stabilise the first resolution, then for every further
resolution a fade-in (α rising linearly 0 → 1) and a stabilisation (α = 1). After the last one
the full resolution trains on, α = 1.
"""
from __future__ import annotations

from typing import Dict, Tuple

import torch
from torch import Tensor
from torch.nn import functional as F

# the resolutions grown through, by final image size: 32 doubles from 4, 28 from 7 (no resizing of the data)
RESOLUTIONS: Dict[int, Tuple[int, ...]] = {28: (7, 14, 28), 32: (4, 8, 16, 32)}


def growth_at(step: int, phase_steps: int, levels: int) -> Tuple[int, float]:
    """(index of the finest active resolution, fade-in α) at iteration ``step`` (0-based)."""
    if step < 0 or phase_steps < 1 or levels < 1:
        raise ValueError(f"need step ≥ 0, phase_steps ≥ 1, levels ≥ 1; got {step}, {phase_steps}, {levels}")
    if step < phase_steps:
        return 0, 1.0
    level, within = divmod(step - phase_steps, 2 * phase_steps)
    if level + 1 >= levels:
        return levels - 1, 1.0
    return level + 1, (within / phase_steps if within < phase_steps else 1.0)


def fade(coarse: Tensor, fine: Tensor, alpha: float) -> Tensor:
    """The fade-in blend (1 − α)·coarse + α·fine: the new layer's output is weighed in as α rises."""
    return torch.lerp(coarse, fine, alpha) if alpha < 1 else fine


def resize_to(x: Tensor, size: int) -> Tensor:
    """Images to ``size`` pixels: average pooling down (the real images' pyramid), nearest up (no new detail)."""
    if x.shape[-1] == size:
        return x
    if x.shape[-1] > size:
        return F.avg_pool2d(x, x.shape[-1] // size)
    return F.interpolate(x, scale_factor=size // x.shape[-1], mode="nearest")
