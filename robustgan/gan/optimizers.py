"""The GAN trainer's optimisers."""
from __future__ import annotations

from typing import Any, Dict, Iterable

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


# Adam as the papers of the equalised-learning-rate generators prescribe it: with weights scaled at run
# time by 1/√fan_in, the loss's default (DCGAN's 2e-4, β₁ 0.5) is a far smaller step than theirs.
# ProGAN (Karras et al. 2018): lr 1e-3, β (0, 0.99); StyleGAN (Karras et al. 2019): the same, the
# mapping network at 0.01 × lr (built into ``style.MappingNetwork``'s equalised layers).
PAPER_ADAM: Dict[str, Dict[str, Any]] = {
    "progressive": {"lr": 1e-3, "betas": (0.0, 0.99)},
    "style": {"lr": 1e-3, "betas": (0.0, 0.99)},
}


def paper_optimizer(arch: str) -> Dict[str, Any]:
    """``GANConfig`` overrides (``optimizer``, ``lr_g``, ``lr_d``, ``betas``) with the Adam settings of
    ``arch``'s paper (``PAPER_ADAM``); ``{}`` for the others (DCGAN, LAPGAN), whose loss defaults
    already are their papers' (Adam 2e-4, β (0.5, 0.999)). Opt-in: a config that leaves lr/betas
    unset still resolves to the loss's defaults, so existing runs and checkpoints are unchanged.

        GANConfig(arch="style", **paper_optimizer("style"))
    """
    if arch not in PAPER_ADAM:
        return {}
    p = PAPER_ADAM[arch]
    return {"optimizer": "adam", "lr_g": p["lr"], "lr_d": p.get("lr_d", p["lr"]), "betas": tuple(p["betas"])}
