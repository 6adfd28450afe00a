"""Random transforms applied before the model at every step (``optimize(..., transform=...)``).

Robustness to small shifts and rescalings is a cheap natural-image prior: an input that excites
a unit only at one exact alignment is adversarial noise, not a feature (Mordvintsev et al. 2015,
Olah et al. 2017). Each transform draws from its own ``torch.Generator`` on the CPU, so a seed
gives the same sequence of shifts on any device.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def _generator(seed: Optional[int], generator: Optional[torch.Generator]) -> torch.Generator:
    if generator is not None:
        return generator
    return torch.Generator().manual_seed(0 if seed is None else int(seed))


class Jitter:
    """Roll the batch by a random (dy, dx) in [−pixels, pixels]² (wrapping around)."""

    def __init__(self, pixels: int, seed: Optional[int] = None, generator: Optional[torch.Generator] = None):
        if isinstance(pixels, bool) or not isinstance(pixels, int) or pixels < 0:
            raise ValueError(f"pixels must be an int >= 0, got {pixels!r}")
        self.pixels = pixels
        self.generator = _generator(seed, generator)

    def __call__(self, x: Tensor) -> Tensor:
        if self.pixels == 0:
            return x
        dy, dx = torch.randint(-self.pixels, self.pixels + 1, (2,), generator=self.generator).tolist()
        return torch.roll(x, shifts=(dy, dx), dims=(-2, -1))

    def __repr__(self):
        return f"Jitter({self.pixels})"


class RandomScale:
    """Resize by a factor drawn from ``scales``, then crop or reflect-pad back to the original size.

    The output keeps the input's size, so models with a fixed input size still accept it.
    """

    def __init__(self, scales: Sequence[float], seed: Optional[int] = None,
                 generator: Optional[torch.Generator] = None):
        scales = [float(s) for s in scales]
        if not scales or any(not s > 0 for s in scales):
            raise ValueError(f"scales must be positive numbers, got {scales}")
        self.scales = scales
        self.generator = _generator(seed, generator)

    def __call__(self, x: Tensor) -> Tensor:
        s = self.scales[int(torch.randint(len(self.scales), (1,), generator=self.generator))]
        if s == 1.0:
            return x
        h, w = x.shape[-2:]
        nh, nw = max(1, round(h * s)), max(1, round(w * s))
        y = F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False)
        if nh >= h and nw >= w:
            top, left = (nh - h) // 2, (nw - w) // 2
            return y[..., top:top + h, left:left + w]
        ph, pw = h - nh, w - nw
        mode = "reflect" if ph < nh and pw < nw else "replicate"
        return F.pad(y, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), mode=mode)

    def __repr__(self):
        return f"RandomScale({self.scales})"


class Compose:
    """Apply transforms in order."""

    def __init__(self, *transforms: Callable[[Tensor], Tensor]):
        self.transforms = [t for t in transforms if t is not None]

    def __call__(self, x: Tensor) -> Tensor:
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self):
        return " ∘ ".join(map(repr, reversed(self.transforms))) or "identity"


def standard_transforms(jitter: int = 0, scales: Optional[Sequence[float]] = None,
                        seed: Optional[int] = None) -> Optional[Compose]:
    """Jitter then random scale, sharing one seeded generator; None when both are off."""
    gen = _generator(seed, None)
    parts = []
    if jitter:
        parts.append(Jitter(jitter, generator=gen))
    if scales:
        parts.append(RandomScale(scales, generator=gen))
    return Compose(*parts) if parts else None
