"""Random starting points (PGD's random start, restarts), drawn through an explicit generator."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from .constraints import parse_norm


def _rand(kind: str, like: Tensor, generator: Optional[torch.Generator]) -> Tensor:
    """Draw on the generator's device (CPU by default), then move: same seed, same bits."""
    gen_device = generator.device if generator is not None else torch.device("cpu")
    fn = torch.rand if kind == "uniform" else torch.randn
    return fn(like.shape, generator=generator, device=gen_device, dtype=like.dtype).to(like.device)


def _bcast(v: Tensor, like: Tensor) -> Tensor:
    return v.reshape(-1, *([1] * (like.dim() - 1)))


def uniform_in_ball(norm="linf"):
    """An ``init`` drawing each row uniformly from its Lp ball (p ∈ {inf, 2, 1}).

    For L2 and L1 the direction is uniform on the sphere and the radius scales as U^(1/d), which
    gives the uniform distribution on the ball rather than crowding the centre.
    """
    p = parse_norm(norm)

    def init(origin: Tensor, radius: Optional[Tensor], generator: Optional[torch.Generator]) -> Tensor:
        if radius is None:
            raise ValueError("a random start needs a ball constraint")
        if p == float("inf"):
            u = _rand("uniform", origin, generator) * 2 - 1
            return origin + u * _bcast(radius, origin)
        d = origin[0].numel()
        if p == 2:
            direction = _rand("normal", origin, generator)
        else:  # Laplace coordinates give a uniform direction on the L1 sphere
            e = -torch.log(_rand("uniform", origin, generator).clamp_min(1e-12))
            direction = e * torch.sign(_rand("uniform", origin, generator) - 0.5)
        flat = direction.reshape(direction.shape[0], -1)
        norm_ = flat.norm(p=p, dim=1).clamp_min(1e-12)
        u = _rand("uniform", radius.reshape(-1, 1), generator).reshape(-1)
        scale = radius * u ** (1.0 / d) / norm_
        return origin + direction * _bcast(scale, origin)

    return init
