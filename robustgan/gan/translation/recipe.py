"""What an architecture is to the trainer: its networks by role, its data streams, its step's losses.

The trainer owns the loop, the optimisers, EMA, checkpoints and the one noise generator; a recipe
only says how a batch is drawn, what the generators make of it, and what each player minimises.
Every stream is a :class:`robustgan.gan.data.Batches` over indices, so its cursor (epoch,
position) is its whole state and a resumed run draws the same batches. Streams yield global
batches; :meth:`Recipe.draw` cuts them to this rank's share under ``torchrun``.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor, nn

from ..data import Batches
from .config import TASK_KIND, TranslationConfig
from .pool import ImagePool
from .tasks import TranslationTask

GRID_COLUMNS = 8


class Recipe:
    """Base of the four architectures; subclasses fill :meth:`build` and the step methods."""

    def __init__(self, cfg: TranslationConfig, task: TranslationTask, device: torch.device,
                 features: Optional[nn.Module] = None, *, rank: int = 0, world: int = 1):
        want = TASK_KIND[cfg.arch]
        if task.kind != want:
            raise ValueError(f"{cfg.arch} trains on a {want} task, got the {task.kind} task {task.name!r}")
        self.cfg, self.device, self.features = cfg, device, features
        self.sources = task.sources.to(device)
        self.targets = task.targets.to(device) if task.targets is not None else None
        self.domains = task.domains.to(device) if task.domains is not None else None
        self.task = task
        # under torchrun: this rank's share of every global batch (one process: the whole batch)
        self.rank = rank
        bs = cfg.batch_size
        self.local: Optional[slice] = slice(rank * bs // world, (rank + 1) * bs // world) if world > 1 else None
        self.generators: Dict[str, nn.Module] = {}
        self.discriminators: Dict[str, nn.Module] = {}
        self.pools: Dict[str, ImagePool] = {}
        self.streams: Dict[str, Batches] = {}

    def stream(self, n: int, offset: int) -> Batches:
        """Shuffled index batches over ``n`` items, in an order of their own (seed + ``offset``)."""
        return Batches(torch.arange(n, device=self.device), None, self.cfg.batch_size, self.cfg.seed + offset)

    def draw(self, name: str) -> Tensor:
        """The next global batch of stream ``name`` (indices), cut to this rank's share: every rank
        walks the same global order, so the ranks together see the batch one process would."""
        idx, _ = self.streams[name].next()
        return idx[self.local] if self.local is not None else idx

    def networks(self) -> Dict[str, nn.Module]:
        return {**self.generators, **self.discriminators}

    def build(self) -> None:
        """Make the networks, pools and streams (the trainer seeds the global RNG around this)."""
        raise NotImplementedError

    def batch(self, noise: torch.Generator) -> Dict[str, Tensor]:
        raise NotImplementedError

    def generate(self, batch: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """The generators' outputs on ``batch``, with their graphs (for the generator update)."""
        raise NotImplementedError

    def d_loss(self, batch: Dict[str, Tensor], out: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """``{"d_loss": what the discriminators minimise, …parts}``, on detached outputs."""
        raise NotImplementedError

    def g_loss(self, batch: Dict[str, Tensor], out: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """``{"g_loss": what the generators minimise, …parts}``."""
        raise NotImplementedError

    def fixed(self) -> Dict[str, Tensor]:
        """The inputs of the progress grids: the first few of each source set, every grid the same."""
        fixed = {"source": self.sources[:GRID_COLUMNS]}
        if self.targets is not None:
            fixed["target"] = self.targets[:GRID_COLUMNS]
        return fixed

    def preview(self, generators: Dict[str, nn.Module], fixed: Dict[str, Tensor]) -> List[Tensor]:
        """Rows of a progress grid (each a batch of ``GRID_COLUMNS`` images), from ``generators``."""
        raise NotImplementedError


def check_paired(task: TranslationTask, scales: Tuple[int, ...], arch: str) -> int:
    """The task's target/source scale, when it is one ``arch`` handles."""
    (_, hs, ws), (_, ht, wt) = task.source_shape, task.target_shape
    scale = ht // hs if hs and ht % hs == 0 and wt == ht * ws // hs else 0
    if scale not in scales:
        raise ValueError(f"{arch} maps sources {task.source_shape} to targets {task.target_shape}: the scale "
                         f"must be one of {scales}")
    return scale


__all__ = ["GRID_COLUMNS", "Recipe", "check_paired"]
