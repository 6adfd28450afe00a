"""Layers the translation networks share, and the [0, 1] ↔ [−1, 1] mapping at their boundary.

As in :mod:`robustgan.gan.models`, the networks see the [−1, 1] range their papers were designed
for, while every tensor that crosses the API is an image in [0, 1].
"""
from __future__ import annotations

from typing import Any, Dict, Tuple

import torch
from torch import Tensor, nn

NORMS = ("batch", "instance", "none")


def to_signed(x: Tensor) -> Tensor:
    """[0, 1] → [−1, 1]."""
    return x * 2 - 1


def to_unit(logits: Tensor) -> Tensor:
    """The last layer's pre-activation → tanh → [0, 1]."""
    return torch.tanh(logits).add(1).mul(0.5)


def norm2d(kind: str, channels: int) -> nn.Module:
    """'batch' (pix2pix, SRGAN), 'instance' (CycleGAN, StarGAN; affine), or 'none'."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"norm must be one of {NORMS}, got {kind!r}")


def conv_block(cin: int, cout: int, kernel: int, stride: int, norm: str, slope: float = 0.2) -> nn.Sequential:
    """Conv → norm → LeakyReLU(``slope``; 0 is ReLU), padded to keep (stride 1) or halve (stride 2) the side."""
    pad = kernel // 2 if kernel % 2 else (kernel - stride) // 2
    act: nn.Module = nn.LeakyReLU(slope, inplace=True) if slope else nn.ReLU(inplace=True)
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, pad, bias=norm != "batch"), norm2d(norm, cout), act)


def up_block(cin: int, cout: int, norm: str, dropout: float = 0.0) -> nn.Sequential:
    """Transposed conv ×2 → norm → (dropout, pix2pix's noise) → ReLU."""
    layers = [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=norm != "batch"), norm2d(norm, cout)]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers, nn.ReLU(inplace=True))


def init_weights(module: nn.Module) -> None:
    """pix2pix/CycleGAN initialisation, which is DCGAN's (one function serves both)."""
    from ..models import dcgan_init

    dcgan_init(module)


def check_settings(norm: str = "none", dropout: float = 0.0, **positive: int) -> None:
    """Fail at construction, naming the argument: widths, channels and sizes are positive integers."""
    for name, v in positive.items():
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    if not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"dropout must lie in [0, 1), got {dropout!r}")


def check_input(x: Tensor, shape: Tuple[int, ...], who: str) -> Tensor:
    """Shape check only (no device sync): (N, C, H, W) with (C, H, W) = ``shape``."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{who} takes a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 4 or tuple(x.shape[1:]) != tuple(shape):
        raise ValueError(f"{who} takes images of shape (N, {', '.join(map(str, shape))}), got {tuple(x.shape)}")
    return x


class Configured(nn.Module):
    """A network that remembers its constructor arguments, so a checkpoint can rebuild it from data."""

    def remember(self, **kwargs: Any) -> None:
        self._kwargs = dict(kwargs)

    def config(self) -> Dict[str, Any]:
        """The constructor arguments: with the state dict, all a checkpoint needs."""
        return dict(self._kwargs)


__all__ = ["NORMS", "Configured", "check_input", "check_settings", "conv_block", "init_weights", "norm2d",
           "to_signed", "to_unit", "up_block"]
