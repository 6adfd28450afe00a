"""Mini-batches for GAN training, addressable by a cursor so a resumed run draws the same batches."""
from __future__ import annotations

from typing import Dict, Optional, Tuple

import torch
from torch import Tensor

from ..deprecation import renamed_attributes
from ..validation import check_images as _check_image_batch


def check_training_data(images: Tensor, labels: Optional[Tensor] = None) -> None:
    """Fail early on what would silently spoil a GAN run: the checks of any image batch
    (:func:`robustgan.validation.check_images`), plus square images and integer labels ≥ 0."""
    _check_image_batch(images)
    if images.shape[-1] != images.shape[-2]:
        raise ValueError(f"images must be square (N, C, H, W), got shape {tuple(images.shape)}")
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


__getattr__ = renamed_attributes(__name__, {
    "check_images": ("robustgan.gan.data.check_training_data", check_training_data),
})
