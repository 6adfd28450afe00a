"""Images in and out: real sample photos, image files, labelled PNG grids and the JSON of a figure set.

Recipes return tensors; only the command line (and examples) write files, through these helpers.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

SAMPLE_PHOTOS = ("china", "flower")
HOW_TO_GET_PHOTOS = (
    "the sample photos ('china', 'flower') ship with scikit-learn, which is not installed: "
    "run `pip install 'robustgan[photos]'` (or `pip install scikit-learn`), or pass the path of an image file"
)


def sample_photo(name: str = "china") -> Tensor:
    """A real photograph (1, 3, H, W) in [0, 1] from scikit-learn's bundled sample images."""
    name = name.lower().removesuffix(".jpg")
    if name not in SAMPLE_PHOTOS:
        raise ValueError(f"unknown sample photo {name!r}; choose one of {list(SAMPLE_PHOTOS)} or give a file path")
    try:
        from sklearn.datasets import load_sample_image
    except ImportError:
        raise ImportError(HOW_TO_GET_PHOTOS) from None
    arr = np.asarray(load_sample_image(f"{name}.jpg"), dtype=np.float32) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).contiguous()


def read_image(path: Union[str, os.PathLike]) -> Tensor:
    """An image file as (1, C, H, W) in [0, 1] (RGB, or one channel for greyscale files)."""
    from PIL import Image

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    with Image.open(path) as im:
        im = im.convert("L" if im.mode in ("L", "I", "I;16", "1") else "RGB")
        arr = np.asarray(im, dtype=np.float32) / 255.0
    t = torch.from_numpy(arr)
    t = t[None] if t.dim() == 2 else t.permute(2, 0, 1)
    return t.unsqueeze(0).contiguous()


def load_image(spec: str, size: Optional[int] = None, crop: Optional[Tuple[int, int, int, int]] = None) -> Tensor:
    """A sample photo by name or an image file; optionally cropped (top, left, height, width) then
    resized so that its shorter side is ``size`` (area averaging, so no aliasing)."""
    x = sample_photo(spec) if spec.lower().removesuffix(".jpg") in SAMPLE_PHOTOS else read_image(spec)
    if crop is not None:
        top, left, h, w = crop
        if top < 0 or left < 0 or h <= 0 or w <= 0 or top + h > x.shape[-2] or left + w > x.shape[-1]:
            raise ValueError(f"crop {crop} lies outside the image of size {tuple(x.shape[-2:])}")
        x = x[..., top:top + h, left:left + w]
    if size is not None:
        x = resize_short_side(x, size)
    return x


def resize_short_side(x: Tensor, size: int) -> Tensor:
    if size <= 0:
        raise ValueError(f"size must be > 0, got {size}")
    h, w = x.shape[-2:]
    s = size / min(h, w)
    new = (max(1, round(h * s)), max(1, round(w * s)))
    mode = "area" if s < 1 else "bilinear"
    kwargs = {} if mode == "area" else {"align_corners": False}
    return F.interpolate(x, size=new, mode=mode, **kwargs).clamp(0, 1)


def to_numpy_image(x: Tensor) -> np.ndarray:
    """(C, H, W) in [0, 1] → (H, W) or (H, W, 3) floats for imshow."""
    a = x.detach().float().cpu().clamp(0, 1).permute(1, 2, 0).numpy()
    return a[..., 0] if a.shape[2] == 1 else a


def save_grid(images: Union[Tensor, Sequence[Tensor]], path: Union[str, os.PathLike], *,
              titles: Optional[Sequence[str]] = None, ncols: Optional[int] = None,
              suptitle: Optional[str] = None, cell: float = 1.8) -> Path:
    """A labelled grid of images (a batch or a list of (C, H, W) tensors of any sizes) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..report.plots import save_figure

    items = list(images) if not isinstance(images, Tensor) else list(images.unbind(0))
    if not items:
        raise ValueError("no images to draw")
    n = len(items)
    ncols = ncols or min(n, 10)
    nrows = math.ceil(n / ncols)
    lines = max((t.count("\n") + 1 for t in titles), default=0) if titles else 0
    height = (cell + 0.16 * lines) * nrows + (0.4 if suptitle else 0)  # room for multi-line titles
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell * ncols, height), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        img = to_numpy_image(items[i])
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
        if titles is not None and i < len(titles):
            ax.set_title(titles[i], fontsize=7)
    if suptitle:
        fig.suptitle(suptitle, fontsize=9)
    return save_figure(fig, path, dpi=110)


def save_image(x: Tensor, path: Union[str, os.PathLike]) -> Path:
    """One (C, H, W) or (1, C, H, W) image as a PNG at its own resolution."""
    from PIL import Image

    if x.dim() == 4:
        x = x[0]
    a = (x.detach().float().cpu().clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(a[..., 0] if a.shape[2] == 1 else a).save(path)
    return path


def _jsonable(v: Any) -> Any:
    if isinstance(v, Tensor):
        return v.detach().cpu().tolist()
    if isinstance(v, (np.generic,)):
        return v.item()
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


def write_json(data: Dict[str, Any], path: Union[str, os.PathLike]) -> Path:
    """Write ``data`` (tensors and paths allowed) as indented JSON, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(_jsonable(data), indent=2, allow_nan=True) + "\n")
    os.replace(tmp, path)
    return path
