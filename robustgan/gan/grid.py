"""Write image grids as PNG files, atomically (a crash never leaves half a picture)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
import math
from typing import Optional, Union

from torch import Tensor

from ..deprecation import renamed_attributes

LEGIBLE = 84  # pixels a tile needs to be read on a screen: 28-px images are drawn at 3×


def save_pixel_grid(images: Tensor, path: Union[str, os.PathLike], nrow: int = 8, padding: int = 2,
                    scale: Optional[int] = None) -> Path:
    """Images in [0, 1], (N, C, H, W), tiled ``nrow`` per row into one PNG, each pixel drawn as a
    ``scale`` × ``scale`` block (default: the smallest that makes a tile at least 84 px tall), so
    that 28-px samples can be read without zooming. Untitled and pixel-exact, for GAN samples;
    :func:`robustgan.visualize.save_grid` draws a titled figure instead."""
    from torchvision.utils import save_image

    if images.dim() != 4:
        raise ValueError(f"images must be (N, C, H, W), got shape {tuple(images.shape)}")
    scale = max(1, math.ceil(LEGIBLE / images.shape[2])) if scale is None else int(scale)
    if scale < 1:
        raise ValueError(f"scale must be >= 1, got {scale}")
    if scale > 1:
        images = images.repeat_interleave(scale, dim=2).repeat_interleave(scale, dim=3)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".png")
    os.close(fd)
    try:
        save_image(images.detach().float().clamp(0, 1).cpu(), tmp, nrow=nrow, padding=padding, pad_value=1.0)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


__getattr__ = renamed_attributes(__name__, {"save_grid": ("robustgan.gan.grid.save_pixel_grid", save_pixel_grid)})
