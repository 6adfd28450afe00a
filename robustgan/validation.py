"""Early, clear errors for bad inputs, so nothing fails deep inside torch."""
from __future__ import annotations

from typing import Optional, Union

import torch
from torch import Tensor, nn


def check_images(x, name: str = "images", lo: float = 0.0, hi: float = 1.0) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a float tensor with values in [{lo}, {hi}], got dtype {x.dtype}")
    if x.dim() != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W), got {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch")
    if not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).sum())
        raise ValueError(f"{name} contain {bad} NaN or infinite value(s)")
    xmin, xmax = float(x.min()), float(x.max())
    if xmin < lo - 1e-6 or xmax > hi + 1e-6:
        raise ValueError(f"{name} must lie in [{lo:g}, {hi:g}] (normalisation belongs inside the model); "
                         f"found values in [{xmin:.4g}, {xmax:.4g}]")
    return x


def check_labels(y, n: int, num_classes: int, name: str = "labels") -> Tensor:
    if not isinstance(y, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of class indices, got {type(y).__name__}")
    if y.is_floating_point() or y.dtype == torch.bool:
        raise TypeError(f"{name} must be integer class indices, got dtype {y.dtype}")
    if y.dim() != 1 or y.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},) to match the images, got {tuple(y.shape)}")
    if n and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ValueError(f"{name} must lie in [0, {num_classes - 1}] for a {num_classes}-class model; "
                         f"found {int(y.min())}..{int(y.max())}")
    return y.long()


def check_eps(eps: Union[float, Tensor], n: int, name: str = "eps") -> Union[float, Tensor]:
    if isinstance(eps, Tensor):
        if eps.dim() > 1 or (eps.dim() == 1 and eps.shape[0] != n):
            raise ValueError(f"{name} must be a scalar or have shape ({n},), got {tuple(eps.shape)}")
        if not bool(torch.isfinite(eps).all()) or bool((eps < 0).any()):
            raise ValueError(f"{name} must be finite and >= 0")
        return eps.float()
    try:
        value = float(eps)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or a tensor, got {type(eps).__name__}") from None
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"{name} must be finite and >= 0, got {eps}")
    return value


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


@torch.no_grad()
def num_classes_of(model: nn.Module, x: Tensor) -> int:
    """Classes the model predicts, from one forward of one example (model state left as it was)."""
    from .optim.freeze import frozen

    with frozen([model]):
        out = model(x[:1])
    if not isinstance(out, Tensor) or out.dim() != 2:
        shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise ValueError(f"the model must return logits of shape (N, classes), got {shape}")
    return out.shape[1]
