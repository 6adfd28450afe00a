"""How the ranks of a data-parallel GAN run draw their own noise yet agree on what they log and steer."""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

import torch
from torch import Tensor

from .. import distributed


def noise_seed(seed: int, rank: int) -> int:
    """Seed of one rank's latent/noise generator: rank 0 draws what a one-process run draws."""
    return seed + 1_000_003 * rank


def rank_mean(ctx: distributed.DistContext, values: Tensor) -> List[List[float]]:
    """The logged losses of every rank averaged (the loss of the global batch): one history everywhere."""
    if not ctx.active:
        return values.tolist()
    flat = [v / ctx.world for v in ctx.sum(values.flatten().tolist())]
    return torch.tensor(flat, dtype=torch.float64).view(values.shape).tolist()


def global_means(ctx: distributed.DistContext, real: Tensor, fake: Tensor) -> Tuple[Tensor, Tensor]:
    """BEGAN's critic means over the global batch, so that every rank steers k_t alike."""
    if not ctx.active:
        return real, fake
    r, f = ctx.sum([float(real.detach().mean()), float(fake.detach().mean())])
    return torch.tensor(r / ctx.world), torch.tensor(f / ctx.world)


def saved_noise_state(state: Dict[str, Any], ctx: distributed.DistContext, fresh_seed: int,
                      device: torch.device) -> Tensor:
    """This rank's saved noise generator; a run resumed on another process count keeps rank 0's and
    seeds the others afresh (from the seed, rank and step: no rank repeats another's draws)."""
    ranks = state.get("noise_rng_ranks")
    if ranks is not None and len(ranks) == ctx.world:
        return ranks[ctx.rank].cpu()
    if ctx.is_main:
        return state["noise_rng"].cpu()
    return torch.Generator(device=device).manual_seed(fresh_seed).get_state()
