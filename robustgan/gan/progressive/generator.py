"""Progressive generator (Karras et al. 2018): pixel norm, equalised LR, one block and one toRGB per resolution.

Images at the API boundary are always full size in [0, 1]: the active resolution's output is
blended (fade-in) with the upsampled coarser one, squashed by (tanh + 1)/2 and upsampled (nearest)
to ``image_size``, so a discriminator's average pooling gives the generated pixels back exactly.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ..layers import EqualizedConv2d, EqualizedLinear, PixelNorm
from .schedule import fade, resize_to
from .state import Growing


def level_channels(width: int, levels: int) -> List[int]:
    """Feature channels per resolution, coarse to fine: 4w, 4w, …, 2w, w (halving over the last two)."""
    return [4 * width] * (levels - 2) + [2 * width, width]


def conv_act(cin: int, cout: int, norm: bool) -> List[nn.Module]:
    """3×3 equalised conv, LeakyReLU(0.2), and pixel norm in the generator."""
    return [EqualizedConv2d(cin, cout, 3, padding=1), nn.LeakyReLU(0.2)] + ([PixelNorm()] if norm else [])


class ProgressiveGenerator(Growing):
    """z (N, latent_dim) → images (N, channels, image_size, image_size) in [0, 1], grown from the coarsest size."""

    def __init__(self, latent_dim: int = 100, image_size: int = 32, channels: int = 1, width: int = 64,
                 phase_steps: int = 1000):
        super().__init__()
        self._init_growth(image_size, phase_steps)
        self.latent_dim, self.channels, self.width = latent_dim, channels, width
        self.num_classes = self.code_categorical = self.code_continuous = 0
        chans, base = level_channels(width, len(self.resolutions)), self.resolutions[0]
        self.project = EqualizedLinear(latent_dim, chans[0] * base * base, gain=2 ** 0.5 / 4)  # Karras' 4×4 "conv"
        self.base = base
        blocks = [nn.Sequential(nn.LeakyReLU(0.2), PixelNorm(), *conv_act(chans[0], chans[0], True))]
        blocks += [nn.Sequential(*conv_act(chans[i - 1], chans[i], True), *conv_act(chans[i], chans[i], True))
                   for i in range(1, len(chans))]
        self.blocks = nn.ModuleList(blocks)
        self.to_rgb = nn.ModuleList(EqualizedConv2d(c, channels, 1, gain=1.0) for c in chans)

    def config(self) -> Dict[str, Any]:
        return {"kind": "progressive", "latent_dim": self.latent_dim, "image_size": self.image_size,
                "channels": self.channels, "width": self.width, "phase_steps": self.phase_steps}

    def forward(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        level, alpha = self.growth()
        h = self.project(PixelNorm()(z)).view(z.shape[0], -1, self.base, self.base)
        h = self.blocks[0](h)
        coarse = None
        for i in range(1, level + 1):
            if i == level and alpha < 1:
                coarse = F.interpolate(self.to_rgb[i - 1](h), scale_factor=2, mode="nearest")
            h = self.blocks[i](F.interpolate(h, scale_factor=2, mode="nearest"))
        rgb = self.to_rgb[level](h)
        if coarse is not None:
            rgb = fade(coarse, rgb, alpha)
        return resize_to(torch.tanh(rgb).add(1).mul(0.5), self.image_size)

    def sample_latent(self, n: int, generator: Optional[torch.Generator] = None,
                      device: Optional[torch.device] = None) -> Tensor:
        """z ~ N(0, I) (pixel norm puts it on the sphere, as in the paper)."""
        device = device if device is not None else self.level.device
        return torch.randn(n, self.latent_dim, generator=generator, device=device)
