"""Input normalisation inside the model, so every attack and constraint works on [0, 1] pixels."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn


class Normalized(nn.Module):
    """``model((x − mean) / std)`` with per-channel mean and std stored as buffers."""

    def __init__(self, model: nn.Module, mean: Sequence[float] = (0.0,), std: Sequence[float] = (1.0,)):
        super().__init__()
        if any(s <= 0 for s in std):
            raise ValueError(f"std must be positive, got {list(std)}")
        self.model = model
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32).reshape(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32).reshape(1, -1, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.model((x - self.mean) / self.std)
