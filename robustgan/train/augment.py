"""Training-set augmentation: random translation ("random crop of the zero-padded image").

Each image gets its own offset, drawn from a CPU ``torch.Generator`` that the trainer seeds from
(seed, epoch, rank), so a resumed run shifts every batch exactly as an unbroken one would.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..validation import check_positive_int


def random_shift(x: Tensor, pixels: int, generator: torch.Generator) -> Tensor:
    """Translate each image of ``x`` (B, C, H, W) by its own (dy, dx) ∈ [−pixels, pixels]², filling with 0."""
    check_positive_int(pixels, "pixels", minimum=0)
    if x.dim() != 4:
        raise ValueError(f"expected a (B, C, H, W) batch, got shape {tuple(x.shape)}")
    if pixels == 0:
        return x
    b, _, h, w = x.shape
    offsets = torch.randint(0, 2 * pixels + 1, (b, 2), generator=generator).to(x.device)
    padded = F.pad(x, (pixels, pixels, pixels, pixels)).permute(0, 2, 3, 1)  # (B, H+2p, W+2p, C)
    rows = offsets[:, :1] + torch.arange(h, device=x.device)  # (B, H)
    cols = offsets[:, 1:] + torch.arange(w, device=x.device)  # (B, W)
    batch = torch.arange(b, device=x.device)[:, None, None]
    return padded[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2).contiguous()


def shift_seed(seed: int, epoch: int, rank: int = 0) -> int:
    """Seed of the shift generator for one epoch on one rank (independent of the attacks' seed)."""
    return (seed * 2_000_029 + epoch * 15_485_863 + rank * 32_452_843 + 101) % (2 ** 63)
