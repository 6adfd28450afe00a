"""The mapping network z → w of a style-based generator (Karras et al. 2019).

An MLP from the latent z (normalised to the unit sphere's radius √d by pixel norm) to an
intermediate latent w. W need not follow a fixed prior, so its axes can disentangle the factors of
variation that Z, tied to N(0, I), must warp; the styles of every layer are affine maps of w.
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from .layers import LRELU_GAIN, EqualLinear

MAX_MAPPING_LAYERS = 8


def pixel_norm(z: Tensor, eps: float = 1e-8) -> Tensor:
    """z / √(mean(z²) + ε) per row (ProGAN's pixelwise normalisation, applied to the latent)."""
    return z * (z.pow(2).mean(dim=1, keepdim=True) + eps).rsqrt()


class MappingNetwork(nn.Module):
    """``layers`` equalised FC layers with leaky ReLU, learning at ``lr_mul`` (0.01: StyleGAN's, the
    mapping moves slower than the synthesis); (N, z_dim) → (N, w_dim)."""

    def __init__(self, z_dim: int, w_dim: int, layers: int = 4, lr_mul: float = 0.01):
        super().__init__()
        if not isinstance(layers, int) or not 1 <= layers <= MAX_MAPPING_LAYERS:
            raise ValueError(f"mapping_layers must be an integer in [1, {MAX_MAPPING_LAYERS}], got {layers!r}")
        dims = [z_dim] + [w_dim] * layers
        self.fcs = nn.ModuleList(EqualLinear(a, b, lr_mul=lr_mul) for a, b in zip(dims[:-1], dims[1:]))
        self.z_dim, self.w_dim = z_dim, w_dim

    def forward(self, z: Tensor) -> Tensor:
        x = pixel_norm(z)
        for fc in self.fcs:
            x = F.leaky_relu(fc(x), 0.2) * LRELU_GAIN
        return x
