"""Pieces that make adversarial examples transfer to models the attacker cannot see.

Each is a small part the one loop already takes, so a transfer attack is a recipe, not a loop:

- :class:`InputDiversity` (Xie et al. 2019, DI): a ``transform=`` that randomly shrinks the image
  and pads it back, so the perturbation must work across small rescalings and shifts;
- :class:`Smoothed` (Dong et al. 2019, TI): a step-rule wrapper that convolves the gradient with a
  Gaussian kernel, i.e. the gradient of the loss averaged over translated copies;
- :class:`VarianceTuned` (Wang & He 2021, VMI): momentum sign steps on the gradient corrected by
  the previous iterate's gradient variance, measured at random neighbours through the context's
  ``gradient`` (those passes are counted like any other).
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from ..steps import SizedStep, StepRule, StepSize, _bcast, _rows


class InputDiversity:
    """With probability ``probability``, resize the batch to a random size between
    ``resize_rate``·size and size (one draw per batch, as the reference implementation) and pad it
    back with zeros at a random offset; otherwise the input passes unchanged. ``resize_rate`` > 1
    enlarges instead (the model must then take the larger input)."""

    def __init__(self, resize_rate: float = 0.9, probability: float = 0.5,
                 generator: Optional[torch.Generator] = None):
        if not (0 < resize_rate < float("inf")) or resize_rate == 1:
            raise ValueError(f"resize_rate must be > 0, finite and not 1, got {resize_rate!r}")
        if not 0 <= probability <= 1:
            raise ValueError(f"probability must be in [0, 1], got {probability!r}")
        self.resize_rate, self.probability = float(resize_rate), float(probability)
        self.generator = generator

    def _int(self, low: int, high: int) -> int:
        return int(torch.randint(low, high, (1,), generator=self.generator))

    def __call__(self, x: Tensor) -> Tensor:
        if x.dim() != 4:
            raise ValueError(f"input diversity needs images (N, C, H, W), got shape {tuple(x.shape)}")
        if float(torch.rand(1, generator=self.generator)) >= self.probability:
            return x
        h, w = x.shape[-2:]
        out_h, out_w = (h, w) if self.resize_rate < 1 else (int(h * self.resize_rate), int(w * self.resize_rate))
        small = min(int(h * self.resize_rate), h)
        if small >= max(out_h, out_w) or small < 1:
            return x
        size = self._int(small, min(out_h, out_w))  # upper end exclusive: at least one pixel of padding
        rescaled = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        top, left = self._int(0, out_h - size), self._int(0, out_w - size)
        return F.pad(rescaled, [left, out_w - size - left, top, out_h - size - top], value=0.0)

    def __repr__(self) -> str:
        return f"InputDiversity(resize_rate={self.resize_rate}, probability={self.probability})"


def gaussian_kernel(size: int = 15, nsig: float = 3.0) -> Tensor:
    """A normalised ``size``×``size`` Gaussian sampled on [−nsig, nsig] (the TI paper's kernel)."""
    if size < 1 or size % 2 == 0:
        raise ValueError(f"kernel size must be a positive odd integer, got {size!r}")
    if not nsig > 0:
        raise ValueError(f"nsig must be > 0, got {nsig!r}")
    t = torch.linspace(-nsig, nsig, size, dtype=torch.float64)
    one = torch.exp(-t ** 2 / 2) / math.sqrt(2 * math.pi)
    k = torch.outer(one, one)
    return (k / k.sum()).float()


class Smoothed(StepRule):
    """Translation-invariant steps: the inner rule moves along the gradient convolved, channel by
    channel, with ``kernel`` (zero padding, same size)."""

    def __init__(self, inner: StepRule, kernel: Tensor):
        if kernel.dim() != 2 or kernel.shape[0] % 2 == 0 or kernel.shape[1] % 2 == 0:
            raise ValueError(f"kernel must be 2-D with odd sides, got shape {tuple(kernel.shape)}")
        self.inner, self.kernel = inner, kernel
        self.memoryless = inner.memoryless

    @property
    def step_size(self) -> StepSize:
        """The inner rule's step size (for rules that have one)."""
        return self.inner.step_size

    def reset(self, w, samples):
        self.inner.reset(w, samples)

    def bind(self, context):
        self.inner.bind(context)

    def observe(self, w, loss, grad, rows, success=None):
        self.inner.observe(w, loss, grad, rows)

    def smooth(self, grad: Tensor) -> Tensor:
        c = grad.shape[1]
        k = self.kernel.to(device=grad.device, dtype=grad.dtype).expand(c, 1, *self.kernel.shape)
        return F.conv2d(grad, k, padding="same", groups=c)

    def step(self, w, grad, rows):
        return self.inner.step(w, self.smooth(grad), rows)


class VarianceTuned(SizedStep):
    """VMI-FGSM's rule: g ← (∇ + v)/mean|∇ + v| + μ·g, x ← x − α·sign(g), then v ← mean of the
    gradients at ``neighbours`` points uniform in x ± β·ε (ε: the run's radius per row) − ∇."""

    def __init__(self, step_size: StepSize, decay: float = 1.0, neighbours: int = 5, beta: float = 1.5,
                 generator: Optional[torch.Generator] = None):
        super().__init__(step_size)
        if not decay >= 0:
            raise ValueError(f"decay must be >= 0, got {decay!r}")
        if int(neighbours) != neighbours or neighbours < 1:
            raise ValueError(f"neighbours must be an integer >= 1, got {neighbours!r}")
        if not beta >= 0:
            raise ValueError(f"beta must be >= 0, got {beta!r}")
        self.decay, self.neighbours, self.beta, self.generator = float(decay), int(neighbours), float(beta), generator

    def reset(self, w, samples):
        super().reset(w, samples)
        self._velocity = torch.zeros_like(w)
        self._variance = torch.zeros_like(w)

    def _store(self, name: str, value: Tensor, rows) -> None:
        if rows is None:
            setattr(self, name, value)
        else:
            getattr(self, name)[rows] = value

    def step(self, w, grad, rows):
        ctx = self.context
        if ctx.radius is None or ctx.gradient is None:
            raise ValueError("variance tuning needs a ball constraint (its radius sets the neighbourhood)")
        tuned = grad + _rows(self._variance, rows)
        scale = tuned.abs().reshape(tuned.shape[0], -1).mean(dim=1).clamp_min(1e-12)
        g = tuned / _bcast(scale, tuned) + self.decay * _rows(self._velocity, rows)
        self._store("_velocity", g, rows)
        reach = _bcast(_rows(ctx.radius, rows), w) * self.beta
        total = torch.zeros_like(w)
        for _ in range(self.neighbours):
            u = torch.rand(w.shape, generator=self.generator, dtype=w.dtype).to(w.device)
            total += ctx.gradient(w + (2 * u - 1) * reach, rows)
        self._store("_variance", total / self.neighbours - grad, rows)
        return w - self.size(rows, w) * g.sign()


__all__ = ["InputDiversity", "Smoothed", "VarianceTuned", "gaussian_kernel"]
