"""Equalised learning rate and pixel norm (Karras et al. 2018, §4.1–4.2).

Weights are stored N(0, 1) and multiplied at every call by He's constant gain/√fan_in, so Adam's
per-parameter step (invariant to a weight's scale) moves every layer at the same relative speed.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F


def he_scale(fan_in: int, gain: float = math.sqrt(2.0)) -> float:
    """He's constant: the std He initialisation would give the weights."""
    return gain / math.sqrt(fan_in)


class EqualizedConv2d(nn.Conv2d):
    """Conv2d with N(0, 1) weights scaled at runtime by ``he_scale(in·k·k)``; zero bias."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, padding: int = 0,
                 gain: float = math.sqrt(2.0)):
        super().__init__(in_channels, out_channels, kernel_size, padding=padding)
        nn.init.normal_(self.weight)
        nn.init.zeros_(self.bias)
        self.scale = he_scale(in_channels * kernel_size * kernel_size, gain)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, self.stride, self.padding)


class EqualizedLinear(nn.Linear):
    """Linear with N(0, 1) weights scaled at runtime by ``he_scale(in)``; zero bias."""

    def __init__(self, in_features: int, out_features: int, gain: float = math.sqrt(2.0)):
        super().__init__(in_features, out_features)
        nn.init.normal_(self.weight)
        nn.init.zeros_(self.bias)
        self.scale = he_scale(in_features, gain)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


class PixelNorm(nn.Module):
    """Each pixel's feature vector to unit RMS: x / sqrt(mean_c x² + ε); keeps G's magnitudes from escalating."""

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.rsqrt(x.pow(2).mean(1, keepdim=True) + self.eps)
