"""A decorrelated image parametrisation: scaled Fourier coefficients, colour decorrelation, sigmoid.

Pixel-space gradient ascent piles up high frequencies; optimising the spectrum with each frequency
scaled by 1/|f|^decay equalises the step across frequencies, and the colour transform takes steps
in decorrelated colour directions (Olah, Mordvintsev & Schubert 2017, "Feature Visualization").
The map is exactly invertible, so :meth:`Fourier.to_variable` starts from any image in (0, 1).
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

from .parametrizations import Parametrization

# square root of the colour covariance of natural images (ImageNet), by SVD, as used by Lucid
_COLOR_SQRT = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])


def _color_matrix() -> Tensor:
    m = _COLOR_SQRT / _COLOR_SQRT.norm(dim=0).max()
    return m


class Fourier(Parametrization):
    """x = sigmoid(C · irfft2(s ⊙ w)) where w holds real and imaginary parts of the spectrum.

    Args:
        decay: spectrum scaling 1/max(|f|, 1/size)^decay (in cycles per pixel); 0 gives a flat
            scaling.
        decorrelate: for 3-channel images, apply the natural-image colour square-root C.
        margin: how close to 0/1 a starting pixel may be before the logit.

    The optimisation variable is ``(N, C, H, W//2+1, 2)``; use no constraint (the sigmoid keeps
    the image in the box) and an adaptive step such as Adam.
    """

    def __init__(self, decay: float = 1.0, decorrelate: bool = True, margin: float = 1e-4):
        if decay < 0:
            raise ValueError(f"decay must be >= 0, got {decay}")
        if not 0 < margin < 0.5:
            raise ValueError(f"margin must lie in (0, 0.5), got {margin}")
        self.decay, self.decorrelate, self.margin = float(decay), bool(decorrelate), float(margin)
        self._size: Optional[Tuple[int, int]] = None

    def _scale(self, h: int, w: int, like: Tensor) -> Tensor:
        fy = torch.fft.fftfreq(h, device=like.device, dtype=like.dtype)[:, None]
        fx = torch.fft.rfftfreq(w, device=like.device, dtype=like.dtype)[None, :]
        freq = (fx * fx + fy * fy).sqrt().clamp_min(1.0 / max(h, w))
        return freq ** (-self.decay) / 4.0  # Lucid's scale (its sqrt(H·W) is folded into norm="ortho")

    def _mix(self, y: Tensor, inverse: bool) -> Tensor:
        if not self.decorrelate or y.shape[1] != 3:
            return y
        m = _color_matrix().to(y.device, y.dtype)
        if inverse:
            m = torch.linalg.inv(m)
        return torch.einsum("ij,njhw->nihw", m, y)

    def to_variable(self, x: Tensor) -> Tensor:
        if x.dim() != 4:
            raise ValueError(f"Fourier parametrisation needs images (N, C, H, W), got {tuple(x.shape)}")
        h, w = x.shape[-2:]
        self._size = (h, w)
        y = torch.logit(x.clamp(self.margin, 1 - self.margin))
        spec = torch.fft.rfft2(self._mix(y, inverse=True), norm="ortho") / self._scale(h, w, y)
        return torch.view_as_real(spec).contiguous()

    def to_input(self, w: Tensor) -> Tensor:
        if self._size is None:
            raise RuntimeError("to_variable must run first: it records the image size")
        h, wd = self._size
        spec = torch.view_as_complex(w.contiguous()) * self._scale(h, wd, w)
        y = torch.fft.irfft2(spec, s=(h, wd), norm="ortho")
        return torch.sigmoid(self._mix(y, inverse=False))
