"""DeepDream (Mordvintsev, Olah & Tyka 2015): amplify whatever a layer already sees in an image.

Ascend ½·mean(φ(x)²) of a layer — the gradient is the activation itself, so patterns the layer
responds to grow — at several scales ("octaves"), coarse to fine, each octave starting from the
upsampled result of the previous one plus the lost detail, with random jitter at every step. Each
octave is one run of :func:`robustgan.optim.optimize` on :class:`UpTo` (the model cut at the
layer), so a classifier with a fixed-size head dreams at any size as long as the layer is
convolutional.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from ..objectives import LayerEnergy
from ..optim import Box, NormalizedGradient, frozen, optimize
from ..validation import check_images
from .layers import UpTo
from .transforms import Jitter


@dataclass
class DreamResult:
    """The dreamed images, one snapshot per octave, and the layer energy before and after."""

    x: Tensor
    octaves: List[Tensor] = field(default_factory=list)
    energy_before: Optional[Tensor] = None
    energy_after: Optional[Tensor] = None
    sizes: List[tuple] = field(default_factory=list)

    def summary(self) -> Dict[str, Any]:
        return {"octave_sizes": [list(s) for s in self.sizes], "energy_before": self.energy_before.tolist(),
                "energy_after": self.energy_after.tolist(),
                "amplification": (self.energy_after / self.energy_before.clamp_min(1e-12)).tolist()}


def _resize(x: Tensor, size) -> Tensor:
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)


@torch.no_grad()
def _energy(cut: UpTo, x: Tensor) -> Tensor:
    with frozen([cut]):
        f = cut(x)
    return 0.5 * f.reshape(f.shape[0], -1).pow(2).mean(1)


def deepdream(model: nn.Module, images: Tensor, layer: str, *, octaves: int = 3, octave_scale: float = 1.4,
              steps: int = 20, step_size: float = 0.01, jitter: int = 2, seed: int = 0,
              progress: bool = False) -> DreamResult:
    """Dream ``images`` (N, C, H, W in [0, 1]) at ``layer``.

    Args:
        octaves: number of scales; octave k is the image shrunk by ``octave_scale``^(octaves−1−k).
        steps: gradient steps per octave.
        step_size: root-mean-square change of a pixel per step (an L2-normalised step, like the
            original's gradient / mean|gradient|).
        jitter: random roll of up to this many pixels before every step (at the octave's scale).
    """
    check_images(images)
    if octaves < 1 or steps < 0:
        raise ValueError("octaves must be >= 1 and steps >= 0")
    if octave_scale <= 1:
        raise ValueError(f"octave_scale must be > 1, got {octave_scale}")
    cut = UpTo(model, layer)
    h, w = images.shape[-2:]
    sizes = [(max(1, round(h / octave_scale ** k)), max(1, round(w / octave_scale ** k)))
             for k in reversed(range(octaves))]
    base = [_resize(images, s) if s != (h, w) else images for s in sizes]
    detail = torch.zeros_like(base[0])
    gen = torch.Generator().manual_seed(seed)
    snapshots = []
    x = images
    for k in tqdm(range(octaves), desc="octaves", disable=not progress or octaves == 1, leave=False):
        start = (base[k] + (_resize(detail, sizes[k]) if k else detail)).clamp(0, 1)
        d = start[0].numel()
        try:
            res = optimize(cut, start, -LayerEnergy(None), step=NormalizedGradient(step_size * d ** 0.5), steps=steps,
                           constraint=Box(0, 1), transform=Jitter(jitter, generator=gen) if jitter else None,
                           keep="last", progress=progress, desc=f"octave {k + 1}/{octaves}")
        except (RuntimeError, ValueError) as exc:  # optimize names a model that cannot take the input
            raise ValueError(f"layer {layer!r} cannot run at size {sizes[k]} (a dense layer needs the training "
                             f"size): choose a convolutional layer or octaves=1 ({str(exc)[:120]})") from None
        x = res.x
        detail = x - base[k]
        snapshots.append(x)
    return DreamResult(x, snapshots, _energy(cut, images), _energy(cut, x), sizes)
