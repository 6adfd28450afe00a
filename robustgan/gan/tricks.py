"""Training tricks as small functions: EMA of generator weights, instance noise, spectral norm."""
from __future__ import annotations

import copy
from typing import Optional

import torch
from torch import Tensor, nn


def ema_copy(model: nn.Module) -> nn.Module:
    """A frozen copy that tracks ``model`` by exponential moving average (see ``ema_update``)."""
    shadow = copy.deepcopy(model).eval()
    shadow.requires_grad_(False)
    return shadow


@torch.no_grad()
def ema_update(shadow: nn.Module, model: nn.Module, decay: float) -> None:
    """θ_ema ← decay·θ_ema + (1 − decay)·θ; buffers (BatchNorm statistics) are copied as they are."""
    params = [p for p in shadow.parameters()]
    if params:
        torch._foreach_lerp_(params, [p.detach() for p in model.parameters()], 1.0 - decay)
    for b_s, b in zip(shadow.buffers(), model.buffers()):
        b_s.copy_(b)


def instance_noise_std(step: int, start: float, anneal_steps: int) -> float:
    """σ_t of instance noise (Sønderby et al. 2017): linear decay from ``start`` to 0 over
    ``anneal_steps`` steps, constant when ``anneal_steps`` is 0."""
    if start <= 0:
        return 0.0
    if anneal_steps <= 0:
        return start
    return start * max(0.0, 1.0 - step / anneal_steps)


def add_instance_noise(x: Tensor, std: float, generator: Optional[torch.Generator] = None) -> Tensor:
    """x + N(0, σ²) on the discriminator's input (real and generated alike)."""
    if std <= 0:
        return x
    return x + std * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018) of every conv and linear weight, in place."""
    targets = [m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    for m in targets:
        nn.utils.parametrizations.spectral_norm(m)
    return module
