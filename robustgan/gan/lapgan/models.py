"""LAPGAN's generators and discriminators: a coarse G_0 and, per finer level, G_k(noise, l_k) → residual h_k.

``LAPGANGenerator`` samples coarse → fine and has the DCGAN generator's interface (``latent_dim``,
``sample_latent``, ``forward(z)`` → images in [0, 1]), so inversion and attribution take it as it
is: its z is the coarse latent followed by one noise plane per finer level (N(0, I) throughout).
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import torch
from torch import Tensor, nn

from ..layers import MinibatchDiscrimination
from ..models import Critique, dcgan_init
from .pyramid import LEVELS, upsample


def _check(image_size: int) -> None:
    if image_size not in LEVELS:
        raise ValueError(f"image_size must be one of {sorted(LEVELS)}, got {image_size}")


def residual_net(channels: int, width: int) -> nn.Sequential:
    """G_k: [l_k | noise plane] (C + 1 channels) → residual (C channels, linear output, as in the paper)."""
    return nn.Sequential(nn.Conv2d(channels + 1, width, 3, 1, 1), nn.BatchNorm2d(width), nn.ReLU(True),
                         nn.Conv2d(width, width, 3, 1, 1), nn.BatchNorm2d(width), nn.ReLU(True),
                         nn.Conv2d(width, channels, 3, 1, 1))


class LAPGANGenerator(nn.Module):
    """z (N, latent_dim) → images (N, channels, image_size, image_size) in [0, 1], coarse to fine.

    ``coarse_dim`` entries of z feed the coarse MLP G_0 (tanh, [−1, 1]); the rest are the noise
    planes of the finer levels. The pyramid sum is unbounded, so the final image is clamped into
    [0, 1] (pixels beyond it get no gradient, like any clamp).
    """

    def __init__(self, latent_dim: int = 100, image_size: int = 32, channels: int = 1, width: int = 64):
        super().__init__()
        _check(image_size)
        self.coarse_dim, self.image_size, self.channels, self.width = latent_dim, image_size, channels, width
        self.levels = LEVELS[image_size]
        self.latent_dim = latent_dim + sum(s * s for s in self.levels[1:])
        self.num_classes = self.code_categorical = self.code_continuous = 0
        side = self.levels[0]
        self.coarse = nn.Sequential(nn.Linear(latent_dim, 4 * width), nn.ReLU(True),
                                    nn.Linear(4 * width, 4 * width), nn.ReLU(True),
                                    nn.Linear(4 * width, channels * side * side), nn.Tanh())
        self.refine = nn.ModuleList(residual_net(channels, width) for _ in self.levels[1:])
        dcgan_init(self)

    def config(self) -> Dict[str, Any]:
        return {"kind": "lapgan", "latent_dim": self.coarse_dim, "image_size": self.image_size,
                "channels": self.channels, "width": self.width}

    def split(self, z: Tensor) -> List[Tensor]:
        """[z_0 (N, coarse_dim), noise plane of level 1 (N, 1, s_1, s_1), …]."""
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        sizes = [self.coarse_dim] + [s * s for s in self.levels[1:]]
        parts = list(torch.split(z, sizes, 1))
        return parts[:1] + [p.view(-1, 1, s, s) for p, s in zip(parts[1:], self.levels[1:])]

    def coarse_image(self, z0: Tensor) -> Tensor:
        """G_0(z_0): the coarsest level in [−1, 1]."""
        s = self.levels[0]
        return self.coarse(z0).view(-1, self.channels, s, s)

    def residual(self, k: int, low: Tensor, noise: Tensor) -> Tensor:
        """G_k(noise, l_k): the residual of level k ≥ 1 given the upsampled coarser image."""
        return self.refine[k - 1](torch.cat([low, noise], 1))

    def forward(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:
        parts = self.split(z)
        image = self.coarse_image(parts[0])
        for k in range(1, len(self.levels)):
            low = upsample(image)
            image = low + self.residual(k, low, parts[k])
        return image.add(1).mul(0.5).clamp(0, 1)

    def sample_latent(self, n: int, generator: Optional[torch.Generator] = None,
                      device: Optional[torch.device] = None) -> Tensor:
        device = device if device is not None else next(self.parameters()).device
        return torch.randn(n, self.latent_dim, generator=generator, device=device)


class LevelDiscriminator(nn.Module):
    """D_k: a level's input (the coarse image, or [l_k | h_k]) → score; optional minibatch discrimination."""

    def __init__(self, in_channels: int, side: int, width: int, minibatch_discrimination: int = 0):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(in_channels, width, 3, 1, 1), nn.LeakyReLU(0.2, True),
                                  nn.Conv2d(width, 2 * width, 4, 2, 1), nn.LeakyReLU(0.2, True), nn.Flatten())
        features = 2 * width * (side // 2) ** 2
        k = minibatch_discrimination
        self.mbd = MinibatchDiscrimination(features, k) if k else nn.Identity()
        self.head = nn.Linear(features + k, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.mbd(self.body(x))).flatten()


class LAPGANDiscriminator(nn.Module):
    """One discriminator per pyramid level; ``level(k, x)`` scores level k's (real or generated) input."""

    def __init__(self, image_size: int = 32, channels: int = 1, width: int = 64, minibatch_discrimination: int = 0):
        super().__init__()
        _check(image_size)
        self.image_size, self.channels, self.width = image_size, channels, width
        self.minibatch_discrimination = minibatch_discrimination
        self.num_classes = self.aux_classes = self.code_categorical = self.code_continuous = 0
        sides = LEVELS[image_size]
        self.levels = nn.ModuleList(
            LevelDiscriminator(channels if k == 0 else 2 * channels, s, width, minibatch_discrimination)
            for k, s in enumerate(sides))
        dcgan_init(self)

    def config(self) -> Dict[str, Any]:
        return {"kind": "lapgan", "image_size": self.image_size, "channels": self.channels, "width": self.width,
                "minibatch_discrimination": self.minibatch_discrimination}

    def level(self, k: int, x: Tensor) -> Critique:
        return Critique(self.levels[k](x))
