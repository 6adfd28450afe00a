"""The GAN trainer's optimisers."""
from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from .config import GANConfig


def make_optimizer(cfg: GANConfig, params: Iterable[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """Adam or RMSprop; the fused implementation where this torch has one for the device (same
    update rule, one kernel for all parameters instead of a loop)."""
    params = list(params)
    cls = torch.optim.RMSprop if cfg.optimizer == "rmsprop" else torch.optim.Adam
    kwargs = {"lr": lr} if cfg.optimizer == "rmsprop" else {"lr": lr, "betas": cfg.betas}
    try:
        return cls(params, fused=True, **kwargs)
    except (TypeError, RuntimeError, ValueError):
        return cls(params, **kwargs)
