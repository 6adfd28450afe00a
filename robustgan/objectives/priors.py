"""Natural-image priors that keep visualisations from turning into high-frequency noise.

Mahendran & Vedaldi (2015): the α-norm ‖x‖_α^α and the total variation TV^β (finite differences);
Yosinski et al. (2015)-style blur, written as a penalty on the energy a Gaussian blur removes. Each
is one value per row, on the input ``ev.x`` (never on what a jitter transform fed the model).
"""
from __future__ import annotations

import math
from typing import Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import Objective


def total_variation(x: Tensor, beta: float = 2.0, eps: float = 1e-8) -> Tensor:
    """Σ_c Σ_ij ((x_{i,j+1} − x_ij)² + (x_{i+1,j} − x_ij)²)^{β/2} per row (the paper's TV^β).

    ``eps`` inside the power keeps the gradient finite where the image is flat and β < 2.
    """
    if x.dim() != 4:
        raise ValueError(f"total variation needs images (N, C, H, W), got shape {tuple(x.shape)}")
    dx = x[:, :, :-1, 1:] - x[:, :, :-1, :-1]
    dy = x[:, :, 1:, :-1] - x[:, :, :-1, :-1]
    sq = dx * dx + dy * dy
    tv = sq if beta == 2 else (sq + eps) ** (beta / 2)
    return tv.reshape(x.shape[0], -1).sum(1)


class TotalVariation(Objective):
    """TV^β of the input, scaled by ``1/normalizer`` (see :func:`mahendran_normalizers`)."""

    def __init__(self, beta: float = 2.0, normalizer: float = 1.0):
        if not beta > 0:
            raise ValueError(f"beta must be > 0, got {beta}")
        if not normalizer > 0:
            raise ValueError(f"normalizer must be > 0, got {normalizer}")
        self.beta, self.normalizer = float(beta), float(normalizer)

    def __call__(self, ev) -> Tensor:
        return total_variation(ev.x, self.beta) / self.normalizer

    def __repr__(self):
        return f"TV^{self.beta:g}"


class AlphaNorm(Objective):
    """‖x − center‖_α^α per row (``center``: a number or an image such as the dataset mean), / ``normalizer``."""

    def __init__(self, alpha: float = 6.0, center: Union[float, Tensor] = 0.0, normalizer: float = 1.0):
        if not alpha >= 1:
            raise ValueError(f"alpha must be >= 1, got {alpha}")
        if not normalizer > 0:
            raise ValueError(f"normalizer must be > 0, got {normalizer}")
        self.alpha, self.normalizer = float(alpha), float(normalizer)
        self.center = center.detach() if isinstance(center, Tensor) else float(center)

    def __call__(self, ev) -> Tensor:
        c = self.center.to(ev.x.device, ev.x.dtype) if isinstance(self.center, Tensor) else self.center
        d = (ev.x - c).abs().reshape(ev.x.shape[0], -1)
        return d.pow(self.alpha).sum(1) / self.normalizer

    def __repr__(self):
        return f"‖x‖_{self.alpha:g}^{self.alpha:g}"


def mahendran_normalizers(shape: Tuple[int, ...], alpha: float, beta: float,
                          pixel_range: float = 1.0, v_ratio: float = 6.5) -> Tuple[float, float]:
    """The divisors that make the paper's λ's independent of image size and range: (H·W·B^α, H·W·V^β).

    B is the range of the pixel values (1 for [0, 1] images) and V = B / ``v_ratio`` the typical
    size of a finite difference in a natural image, so both priors are O(1) on a typical image.
    """
    h, w = int(shape[-2]), int(shape[-1])
    if pixel_range <= 0 or v_ratio <= 0:
        raise ValueError("pixel_range and v_ratio must be > 0")
    v = pixel_range / v_ratio
    return h * w * pixel_range ** alpha, h * w * v ** beta


def gaussian_blur(x: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur with reflect padding, channel by channel."""
    if sigma <= 0:
        return x
    radius = max(1, int(math.ceil(3 * sigma)))
    radius = min(radius, x.shape[-1] - 1, x.shape[-2] - 1)
    t = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    k = torch.exp(-t * t / (2 * sigma * sigma))
    k = k / k.sum()
    c = x.shape[1]
    y = F.pad(x, (radius, radius, 0, 0), mode="reflect")
    y = F.conv2d(y, k.reshape(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    y = F.pad(y, (0, 0, radius, radius), mode="reflect")
    return F.conv2d(y, k.reshape(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


class BlurPenalty(Objective):
    """‖x − G_σ ∗ x‖² per row: the energy a blur would remove, i.e. a penalty on high frequencies."""

    def __init__(self, sigma: float = 1.0):
        if not sigma > 0:
            raise ValueError(f"sigma must be > 0, got {sigma}")
        self.sigma = float(sigma)

    def __call__(self, ev) -> Tensor:
        d = (ev.x - gaussian_blur(ev.x, self.sigma)).reshape(ev.x.shape[0], -1)
        return (d * d).sum(1)

    def __repr__(self):
        return f"Blur(σ={self.sigma:g})"
