"""The progress grids of a GAN run: fixed latents, so that grids of successive steps compare."""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

from ..optim.freeze import frozen
from .models import DCGANGenerator

GRID_SIZE = 64


def fixed_latent(g: DCGANGenerator, seed: int, device: torch.device) -> Tuple[Tensor, Optional[Tensor], int]:
    """The latents of the progress grids: one per column per class/category when there is one."""
    gen = torch.Generator().manual_seed(seed + 7919)
    z = g.sample_latent(GRID_SIZE, gen, device=torch.device("cpu"))
    labels, nrow = None, 8
    if g.num_classes:
        nrow = g.num_classes if g.num_classes <= 16 else 8
        labels = torch.arange(GRID_SIZE) % g.num_classes
    elif g.code_categorical:
        nrow = g.code_categorical if g.code_categorical <= 16 else 8
        z = g.with_codes(z, torch.arange(GRID_SIZE) % g.code_categorical)
    return z.to(device), (labels.to(device) if labels is not None else None), nrow


@torch.no_grad()
def sample_grid(g: DCGANGenerator, z: Tensor, labels: Optional[Tensor]) -> Tensor:
    """G(z) in eval mode; the generator's mode and flags are restored afterwards."""
    with frozen([g]):
        return g(z, labels)
