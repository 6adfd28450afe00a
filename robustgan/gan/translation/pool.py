"""CycleGAN's image history pool (Shrivastava et al. 2017): the discriminator sees past generated
images too, not only the latest generator's, which damps the oscillation of the two players.

Until the pool holds ``size`` images every new one is stored and returned; after that each new one
is, with probability ½, swapped for a random stored image (which is returned), else returned as is.
Its draws come from its own ``torch.Generator``, and ``state_dict`` holds that generator's state
with the stored images, so a resumed run draws exactly what the uninterrupted one would.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import torch
from torch import Tensor


class ImagePool:
    """A pool of at most ``size`` (default 50) images; ``size=0`` passes every batch through."""

    def __init__(self, size: int = 50, generator: Optional[torch.Generator] = None, seed: int = 0):
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError(f"size must be an integer ≥ 0, got {size!r}")
        if generator is not None and generator.device.type != "cpu":
            raise ValueError("the pool draws on a CPU torch.Generator (its draws are a handful of numbers)")
        self.size = size
        self.generator = generator if generator is not None else torch.Generator().manual_seed(seed)
        self.images: Optional[Tensor] = None  # (filled, C, H, W), on the device of the batches
        self.filled = 0

    def __len__(self) -> int:
        return self.filled

    @torch.no_grad()
    def query(self, images: Tensor) -> Tensor:
        """The batch the discriminator is shown in place of ``images`` (detached, same shape)."""
        images = images.detach()
        if self.size == 0:
            return images
        if self.images is None:
            self.images = images.new_empty((self.size, *images.shape[1:]))
        out = []
        for image in images:
            if self.filled < self.size:
                self.images[self.filled] = image
                self.filled += 1
                out.append(image)
            elif float(torch.rand((), generator=self.generator)) < 0.5:
                i = int(torch.randint(0, self.size, (), generator=self.generator))
                out.append(self.images[i].clone())
                self.images[i] = image
            else:
                out.append(image)
        return torch.stack(out)

    def state_dict(self) -> Dict[str, Any]:
        """Plain data (loads with ``weights_only=True``): size, the stored images, the generator state."""
        stored = self.images[:self.filled].cpu() if self.images is not None else torch.empty(0)
        return {"size": self.size, "images": stored.clone(), "rng": self.generator.get_state()}

    def load_state_dict(self, state: Dict[str, Any], device: Optional[torch.device] = None) -> None:
        """Continue from ``state``: the stored images (moved to ``device``) and the generator's state."""
        if int(state["size"]) != self.size:
            raise ValueError(f"pool state of size {state['size']} does not fit a pool of size {self.size}")
        stored: Tensor = state["images"]
        self.filled = int(stored.shape[0]) if stored.dim() > 1 else 0
        if self.filled > self.size:
            raise ValueError(f"pool state holds {self.filled} images, more than its size {self.size}")
        self.images = None
        if self.filled:
            self.images = stored.new_empty((self.size, *stored.shape[1:]))
            self.images[:self.filled] = stored
            self.images = self.images.to(device) if device is not None else self.images
        self.generator.set_state(state["rng"].cpu())


__all__ = ["ImagePool"]
