"""The labels a classifier gives a batch of images: the one helper every job uses."""
from __future__ import annotations

from typing import Optional, Union

import torch
from torch import Tensor, nn

from ..optim.freeze import frozen


@torch.no_grad()
def predict(model: nn.Module, x: Tensor, batch_size: int = 500,
            device: Optional[Union[str, torch.device]] = None) -> Tensor:
    """``model(x).argmax(1)`` in batches of ``batch_size``, in eval mode with the model's state
    restored. With ``device``, each batch is moved there and the labels come back on x's device."""
    if x.shape[0] == 0:
        return torch.zeros(0, dtype=torch.long, device=x.device)
    with frozen([model]):
        parts = [model(x[i:i + batch_size] if device is None else x[i:i + batch_size].to(device)).argmax(1)
                 for i in range(0, x.shape[0], batch_size)]
    return torch.cat([p.to(x.device) for p in parts])
