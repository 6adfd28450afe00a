"""What the progressive G and D share: the growth state as buffers, driven by the step counter."""
from __future__ import annotations

from typing import Tuple

import torch
from torch import nn

from .schedule import RESOLUTIONS, growth_at


class Growing(nn.Module):
    """A model that grows through ``RESOLUTIONS[image_size]``; ``level`` and ``alpha`` are buffers, so a
    checkpoint holds them and a loaded model draws at the resolution it was saved at."""

    def _init_growth(self, image_size: int, phase_steps: int) -> None:
        if image_size not in RESOLUTIONS:
            raise ValueError(f"image_size must be one of {sorted(RESOLUTIONS)}, got {image_size}")
        if not isinstance(phase_steps, int) or phase_steps < 1:
            raise ValueError(f"phase_steps must be a positive integer, got {phase_steps!r}")
        self.image_size, self.phase_steps = image_size, phase_steps
        self.resolutions = RESOLUTIONS[image_size]
        self.register_buffer("level", torch.zeros((), dtype=torch.long))
        self.register_buffer("alpha", torch.ones(()))

    def advance(self, step: int) -> None:
        """Set resolution and α for iteration ``step`` (the trainer calls it before every iteration)."""
        level, alpha = growth_at(step, self.phase_steps, len(self.resolutions))
        self.level.fill_(level)
        self.alpha.fill_(alpha)

    def growth(self) -> Tuple[int, float]:
        """(finest active level, α) as Python numbers."""
        return int(self.level), float(self.alpha)

    @property
    def resolution(self) -> int:
        """The side of the images the network works at now."""
        return self.resolutions[int(self.level)]
