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


def uniform_in_ball(norm="linf", radial: str = "volume"):
    """An ``init`` drawing each row from its Lp ball (p ∈ {inf, 2, 1}).

    For L2 and L1 the direction is uniform on the sphere. ``radial="volume"`` scales the radius as
    U^(1/d), the uniform distribution on the ball — which in d dimensions puts nearly every start
    on the sphere itself. ``radial="uniform"`` draws the radius uniformly in [0, ε]: starts spread
    over all distances, so a few-step attack does not spend its first steps undoing noise of the
    full radius (PGD-L2's default start; L∞ starts are uniform in the cube either way).
    """
    p = parse_norm(norm)
    if radial not in ("volume", "uniform"):
        raise ValueError(f"radial must be 'volume' or 'uniform', got {radial!r}")
    power = None if radial == "uniform" else 1.0

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
        scale = radius * (u if power is None else u ** (power / d)) / norm_
        return origin + direction * _bcast(scale, origin)

    return init


def gaussian_noise(scale: float = 1.0):
    """An ``init`` adding N(0, scale²) noise to each row: L1-APGD's random start (Croce & Hein 2021).

    The loop then projects the noisy point onto the L1 ball ∩ box exactly, which soft-thresholds
    the noise: the start is a random *sparse* perturbation on the ball's surface, the kind of point
    an L1 attack moves between, where a start drawn uniformly from the ball would be dense and lose
    much of its mass to the box.
    """
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")

    def init(origin: Tensor, radius: Optional[Tensor], generator: Optional[torch.Generator]) -> Tensor:
        return origin + scale * _rand("normal", origin, generator)

    return init
