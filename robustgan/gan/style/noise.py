"""The per-layer noise inputs of a style-based generator: random, fixed or off.

``"auto"`` (the default) draws fresh noise in training mode and uses the fixed noise images (buffers
drawn once at construction, saved with the weights) in eval mode, so a trained generator is a
deterministic function of its latent: sampling with a seed, inversion and attribution repeat bit
for bit. Random draws come from the module's ``noise_source`` (a ``torch.Generator``; the GAN
trainer attaches its own, which its checkpoint saves) or, without one, from torch's global RNG.
"""
from __future__ import annotations

import contextlib
from typing import Iterable, Iterator, Optional

import torch
from torch import Tensor, nn

NOISE_MODES = ("auto", "random", "const", "none")


def check_noise_mode(mode: str) -> str:
    if mode not in NOISE_MODES:
        raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {mode!r}")
    return mode


def layer_noise(mode: str, training: bool, fixed: Tensor, n: int, source: Optional[torch.Generator]) -> Optional[Tensor]:
    """The noise image (n, 1, H, W) of one layer under ``mode`` (None: no noise)."""
    if mode == "auto":
        mode = "random" if training else "const"
    if mode == "none":
        return None
    if mode == "const":
        return fixed.expand(n, -1, -1, -1)
    return torch.randn((n, *fixed.shape[1:]), generator=source, device=fixed.device, dtype=fixed.dtype)


@contextlib.contextmanager
def fixed_noise(generators: Iterable[nn.Module]) -> Iterator[None]:
    """The fixed noise images in every generator that has noise inputs, for the block (then the
    modes they had): what an inversion needs, so that G is a deterministic function of its variable."""
    held = [g for g in generators if hasattr(g, "noise_mode")]
    modes = [g.noise_mode for g in held]
    try:
        for g in held:
            g.noise_mode = "const"
        yield
    finally:
        for g, mode in zip(held, modes):
            g.noise_mode = mode
