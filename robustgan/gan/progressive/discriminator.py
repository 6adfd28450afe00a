"""Progressive discriminator (Karras et al. 2018): fromRGB and a block per resolution, minibatch std at the end.

It takes full-size images in [0, 1] and average-pools them to the active resolution itself (the
trainer needs no resizing); during a fade-in the new fromRGB + block is blended with the pooled
input through the previous fromRGB. No normalisation layers (Karras), optional minibatch
discrimination before the score.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

from torch import Tensor, nn
from torch.nn import functional as F

from ..layers import EqualizedConv2d, EqualizedLinear, MinibatchDiscrimination, MinibatchStd
from ..models import Critique
from .generator import conv_act, level_channels
from .schedule import fade, resize_to
from .state import Growing


class ProgressiveDiscriminator(Growing):
    """Images (N, channels, image_size, image_size) in [0, 1] → ``Critique`` (score only)."""

    def __init__(self, image_size: int = 32, channels: int = 1, width: int = 64, phase_steps: int = 1000,
                 minibatch_discrimination: int = 0, group_size: int = 4):
        super().__init__()
        self._init_growth(image_size, phase_steps)
        self.channels, self.width, self.minibatch_discrimination = channels, width, minibatch_discrimination
        self.group_size = group_size
        self.num_classes = self.aux_classes = self.code_categorical = self.code_continuous = 0
        chans, base = level_channels(width, len(self.resolutions)), self.resolutions[0]
        self.from_rgb = nn.ModuleList(nn.Sequential(EqualizedConv2d(channels, c, 1), nn.LeakyReLU(0.2))
                                      for c in chans)
        self.blocks = nn.ModuleList(
            nn.Sequential(*conv_act(chans[i], chans[i], False), *conv_act(chans[i], chans[i - 1], False),
                          nn.AvgPool2d(2)) for i in range(1, len(chans)))
        top = chans[0]
        self.final = nn.Sequential(MinibatchStd(group_size), *conv_act(top + 1, top, False), nn.Flatten(),
                                   EqualizedLinear(top * base * base, top), nn.LeakyReLU(0.2))
        k = minibatch_discrimination
        self.mbd = MinibatchDiscrimination(top, k) if k else nn.Identity()
        self.head = EqualizedLinear(top + k, 1, gain=1.0)

    def config(self) -> Dict[str, Any]:
        return {"kind": "progressive", "image_size": self.image_size, "channels": self.channels, "width": self.width,
                "phase_steps": self.phase_steps, "minibatch_discrimination": self.minibatch_discrimination,
                "group_size": self.group_size}

    def critique(self, x: Tensor, y: Optional[Tensor] = None) -> Critique:
        level, alpha = self.growth()
        x = resize_to(x.mul(2).sub(1), self.resolutions[level])
        h = self.from_rgb[level](x)
        if level > 0:
            h = self.blocks[level - 1](h)
            if alpha < 1:
                h = fade(self.from_rgb[level - 1](F.avg_pool2d(x, 2)), h, alpha)
        for i in range(level - 1, 0, -1):
            h = self.blocks[i - 1](h)
        return Critique(self.head(self.mbd(self.final(h))).flatten())

    def forward(self, x: Tensor, y: Optional[Tensor] = None) -> Tensor:
        return self.critique(x, y).score
