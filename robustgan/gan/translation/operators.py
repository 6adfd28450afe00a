"""The fixed image operators that turn a garment into a task's source: edge maps and low resolution.

They are fixed by design: a source is data, made once, so that a translator learns to invert one
known operator (edges → garment, 14 px → 28 px)."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

EDGE_OPERATORS = ("sobel", "canny")


def edge_map(images: Tensor, operator: str = "sobel", threshold: float = 0.2) -> Tensor:
    """Binary edges {0, 1} of images in [0, 1], (N, C, H, W), as float images of the same shape.

    ``sobel``: kornia's normalised Sobel magnitude above ``threshold`` (fast; 0.2 keeps the outline
    and the main seams of a Fashion-MNIST garment). ``canny``: kornia's Canny detector with
    ``threshold`` as its low and twice it as its high hysteresis threshold (slower, thinner lines).
    """
    import kornia

    if operator not in EDGE_OPERATORS:
        raise ValueError(f"operator must be one of {EDGE_OPERATORS}, got {operator!r}")
    if not 0.0 < float(threshold) < 1.0:
        raise ValueError(f"threshold must lie in (0, 1), got {threshold!r}")
    if operator == "sobel":
        return (kornia.filters.sobel(images) > threshold).to(images.dtype)
    _, edges = kornia.filters.canny(images, low_threshold=threshold, high_threshold=min(2 * threshold, 0.99))
    return edges.to(images.dtype)


def downsample(images: Tensor, size: int) -> Tensor:
    """Area (average-pool) downsampling of square images to ``size`` × ``size``; the side must divide."""
    side = images.shape[-1]
    if not isinstance(size, int) or size < 1 or side % size:
        raise ValueError(f"size must be a positive integer that divides the image side {side}, got {size!r}")
    factor = side // size
    return F.avg_pool2d(images, factor) if factor > 1 else images.clone()


def upsample_nearest(images: Tensor, size: int) -> Tensor:
    """Nearest-neighbour enlargement to ``size`` × ``size`` (to show a low-resolution source in a grid)."""
    if images.shape[-1] == size:
        return images
    return F.interpolate(images, size=(size, size), mode="nearest")


def one_hot_planes(domains: Tensor, num_domains: int, like: Tensor) -> Tensor:
    """Domain indices (N,) as one-hot planes (N, K, H, W) of ``like``'s size, dtype and device."""
    planes = F.one_hot(domains.long(), num_domains).to(like.dtype)
    return planes[:, :, None, None].expand(-1, -1, like.shape[-2], like.shape[-1])


__all__ = ["EDGE_OPERATORS", "downsample", "edge_map", "one_hot_planes", "upsample_nearest"]
