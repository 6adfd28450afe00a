"""The Laplacian pyramid LAPGAN learns (Denton et al. 2015): coarse image plus one residual per finer level.

Images live in [−1, 1] inside the pyramid. Down is 2×2 average pooling, up is bilinear, so
I_k = up(I_{k−1}) + h_k reconstructs every level exactly from the coarsest image and the residuals.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

from torch import Tensor
from torch.nn import functional as F

# sides of the pyramid's levels, coarse to fine, by image size
LEVELS: Dict[int, Tuple[int, ...]] = {28: (7, 14, 28), 32: (8, 16, 32)}


def upsample(x: Tensor) -> Tensor:
    """One level up: twice the side, bilinear."""
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


def gaussian_levels(x: Tensor, levels: int) -> List[Tensor]:
    """[I_0 (coarsest), …, I_{levels−1} = x]: repeated 2×2 average pooling."""
    out = [x]
    for _ in range(levels - 1):
        out.append(F.avg_pool2d(out[-1], 2))
    return out[::-1]


def laplacian_pairs(x: Tensor, levels: int) -> Tuple[Tensor, List[Tuple[Tensor, Tensor]]]:
    """(I_0, [(l_k, h_k) for k ≥ 1]) with l_k = up(I_{k−1}) the conditioning and h_k = I_k − l_k the residual."""
    g = gaussian_levels(x, levels)
    pairs = []
    for k in range(1, levels):
        low = upsample(g[k - 1])
        pairs.append((low, g[k] - low))
    return g[0], pairs
