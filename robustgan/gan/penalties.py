"""Lipschitz controls of the discriminator: WGAN weight clipping, WGAN-GP and DRAGAN penalties."""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import Tensor, nn

Critic = Callable[[Tensor], Tensor]  # images → (N,) scores


def _grad_norm_penalty(critic: Critic, points: Tensor, target: float) -> Tensor:
    points = points.detach().requires_grad_(True)
    scores = critic(points)
    (grad,) = torch.autograd.grad(scores.sum(), points, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - target).pow(2).mean()


def gradient_penalty(critic: Critic, real: Tensor, fake: Tensor, weight: float = 10.0,
                     generator: Optional[torch.Generator] = None, target: float = 1.0) -> Tensor:
    """WGAN-GP (Gulrajani et al. 2017): λ·E[(‖∇D(x̂)‖₂ − 1)²] at x̂ = x + α(G(z) − x), α ~ U(0, 1) per sample."""
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape, got {tuple(real.shape)} and {tuple(fake.shape)}")
    alpha = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), generator=generator, device=real.device, dtype=real.dtype)
    points = real.detach() + alpha * (fake.detach() - real.detach())
    return weight * _grad_norm_penalty(critic, points, target)


def dragan_penalty(critic: Critic, real: Tensor, weight: float = 10.0, spread: float = 0.5,
                   generator: Optional[torch.Generator] = None, target: float = 1.0) -> Tensor:
    """DRAGAN (Kodali et al. 2017): the same penalty around the data only, at
    x̂ = x + α·δ with δ = spread·std(x)·U(0, 1) noise and α ~ U(0, 1) per sample."""
    real = real.detach()
    delta = spread * real.std() * torch.rand(real.shape, generator=generator, device=real.device, dtype=real.dtype)
    alpha = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), generator=generator, device=real.device, dtype=real.dtype)
    return weight * _grad_norm_penalty(critic, real + alpha * delta, target)


@torch.no_grad()
def clip_weights(module: nn.Module, bound: float) -> None:
    """WGAN's weight clipping: every parameter into [−c, c] after each critic update."""
    if bound <= 0:
        raise ValueError(f"clip bound must be positive, got {bound}")
    for p in module.parameters():
        p.clamp_(-bound, bound)
