"""Write image grids as PNG files, atomically (a crash never leaves half a picture)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Union

from torch import Tensor


def save_grid(images: Tensor, path: Union[str, os.PathLike], nrow: int = 8, padding: int = 2) -> Path:
    """Images in [0, 1], (N, C, H, W), tiled ``nrow`` per row into one PNG."""
    from torchvision.utils import save_image

    if images.dim() != 4:
        raise ValueError(f"images must be (N, C, H, W), got shape {tuple(images.shape)}")
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
