"""The building blocks of a style-based generator (Karras et al. 2019, 2020).

Equalised learning rate: weights are stored N(0, 1) and scaled by 1/√fan_in at run time, so every
layer learns at the same speed under Adam (StyleGAN's choice). A modulated convolution scales the
weight's input channels by a style s = A(w) and, with demodulation (StyleGAN2), divides each output
filter by its norm — the "instance normalisation" of AdaIN folded into the weights, which removes the
droplet artefacts. AdaIN (StyleGAN1) is kept as a plain function for comparison and tests.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LRELU_GAIN = math.sqrt(2.0)


class EqualLinear(nn.Module):
    """y = x·(W·c)ᵀ + b·lr_mul with c = lr_mul/√in: a linear layer with equalised learning rate.

    ``lr_mul`` < 1 slows a layer down (the mapping network uses 0.01); ``bias_init`` 1 makes a
    style affine start at the identity scale.
    """

    def __init__(self, in_features: int, out_features: int, bias_init: float = 0.0, lr_mul: float = 1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init) / lr_mul))
        self.scale, self.lr_mul = lr_mul / math.sqrt(in_features), lr_mul

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


def modulated_conv2d(x: Tensor, weight: Tensor, styles: Tensor, demodulate: bool = True,
                     eps: float = 1e-8) -> Tensor:
    """StyleGAN2's modulated convolution (stride 1, 'same' padding), one weight per sample.

    w'_{ijk} = s_i·w_{ijk} (input channel i scaled by the sample's style); with ``demodulate``,
    w''_{ijk} = w'_{ijk} / √(Σ_{i,k} w'_{ijk}² + ε). Run as one grouped convolution over the batch.
    x: (N, I, H, W), weight: (O, I, k, k), styles: (N, I).
    """
    n, i, h, w = x.shape
    o, _, k, _ = weight.shape
    wt = weight[None] * styles[:, None, :, None, None]  # (N, O, I, k, k)
    if demodulate:
        wt = wt * torch.rsqrt(wt.pow(2).sum(dim=(2, 3, 4), keepdim=True) + eps)
    out = F.conv2d(x.reshape(1, n * i, h, w), wt.reshape(n * o, i, k, k), padding=k // 2, groups=n)
    return out.reshape(n, o, h, w)


def adain(x: Tensor, scale: Tensor, bias: Tensor, eps: float = 1e-8) -> Tensor:
    """AdaIN (Huang & Belongie 2017; StyleGAN1): each channel normalised over its positions, then
    y_s·x̂ + y_b with the style's per-sample scale and bias (N, C)."""
    mean = x.mean(dim=(2, 3), keepdim=True)
    std = (x.var(dim=(2, 3), keepdim=True, unbiased=False) + eps).sqrt()
    return scale[:, :, None, None] * (x - mean) / std + bias[:, :, None, None]


class NoiseInput(nn.Module):
    """x + b_c·noise: one noise image per sample broadcast over the channels, with a learned
    per-channel scale b (initialised at 0, so training decides how much stochastic detail to add)."""

    def __init__(self, channels: int):
        super().__init__()
        self.strength = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor, noise: Optional[Tensor]) -> Tensor:
        if noise is None:
            return x
        return x + self.strength[None, :, None, None] * noise


class StyledConv(nn.Module):
    """Modulated 3×3 conv (optionally after a ×2 upsampling), noise, bias, leaky ReLU: one layer
    of the synthesis network, driven by one w."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, upsample: bool = False,
                 demodulate: bool = True, kernel: int = 3, activate: bool = True):
        super().__init__()
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel, kernel))
        self.scale = 1.0 / math.sqrt(in_channels * kernel * kernel)
        self.noise = NoiseInput(out_channels) if activate else None
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.upsample, self.demodulate, self.activate = upsample, demodulate, activate

    def forward(self, x: Tensor, w: Tensor, noise: Optional[Tensor] = None) -> Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = modulated_conv2d(x, self.weight * self.scale, self.affine(w), self.demodulate)
        if self.noise is not None:
            x = self.noise(x, noise)
        x = x + self.bias[None, :, None, None]
        return F.leaky_relu(x, 0.2) * LRELU_GAIN if self.activate else x


def to_rgb(channels: int, out_channels: int, w_dim: int) -> StyledConv:
    """The last layer: a modulated 1×1 conv without demodulation, noise or activation (StyleGAN2's tRGB)."""
    return StyledConv(channels, out_channels, w_dim, demodulate=False, kernel=1, activate=False)
