"""Mini-batches for GAN training, addressable by a cursor so a resumed run draws the same batches."""
from __future__ import annotations

from typing import Dict, Optional, Tuple

import torch
from torch import Tensor


def check_images(images: Tensor, labels: Optional[Tensor] = None) -> None:
    """Fail early on what would silently spoil a run: wrong rank, non-square, NaN, pixels outside [0, 1]."""
    if not isinstance(images, Tensor):
        raise TypeError(f"images must be a tensor, got {type(images).__name__}")
    if images.dim() != 4 or images.shape[-1] != images.shape[-2]:
        raise ValueError(f"images must be square (N, C, H, W), got shape {tuple(images.shape)}")
    if not images.is_floating_point():
        raise TypeError(f"images must be float in [0, 1], got dtype {images.dtype}")
    if images.numel():
        lo, hi = (float(v) for v in torch.aminmax(images))  # one pass; NaN propagates into both
        if not (lo >= 0 and hi <= 1):
            if not torch.isfinite(images).all():
                raise ValueError("images contain NaN or inf")
            raise ValueError(f"pixels must be in [0, 1], got range [{lo:.3g}, {hi:.3g}]")
    if labels is not None:
        if labels.shape != (images.shape[0],):
            raise ValueError(f"labels must have shape ({images.shape[0]},), got {tuple(labels.shape)}")
        if labels.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
            raise TypeError(f"labels must be integers, got dtype {labels.dtype}")
        if labels.numel() and labels.min() < 0:
            raise ValueError("labels must be ≥ 0")


class Batches:
    """Shuffled batches without replacement, epoch after epoch (the last partial batch is dropped).

    Epoch e's order is ``randperm`` seeded from (seed, e); the cursor (epoch, position) is all
    the state there is, so ``Batches(..., **state)`` continues exactly where a run stopped.
    """

    def __init__(self, images: Tensor, labels: Optional[Tensor], batch_size: int, seed: int,
                 epoch: int = 0, position: int = 0):
        if batch_size > images.shape[0]:
            raise ValueError(f"batch_size={batch_size} is larger than the data ({images.shape[0]} images)")
        self.images, self.labels = images, labels.long() if labels is not None else None
        self.batch_size, self.seed, self.epoch, self.position = batch_size, seed, epoch, position
        self._order: Optional[Tensor] = None

    def _perm(self) -> Tensor:
        if self._order is None:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            self._order = torch.randperm(self.images.shape[0], generator=gen).to(self.images.device)
        return self._order

    def next(self) -> Tuple[Tensor, Optional[Tensor]]:
        if self.position + self.batch_size > self.images.shape[0]:
            self.epoch, self.position, self._order = self.epoch + 1, 0, None
        idx = self._perm()[self.position:self.position + self.batch_size]
        self.position += self.batch_size
        return self.images[idx], (self.labels[idx] if self.labels is not None else None)

    def state(self) -> Dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}
