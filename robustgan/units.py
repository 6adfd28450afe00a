"""Work units: the grain at which a long job saves, resumes and spreads over processes.

Every phase of a job (in an evaluation: a sweep, a minimal-norm attack, the self-checks, a suite) is
cut into units — fixed slices of its examples, or single checks — whose results depend on nothing
but the unit itself: its examples and a seed derived from (run seed, phase, unit). So a unit gives
the same answer whichever process runs it, in whichever order, in whichever run: a run on K
processes, or one resumed after a kill, reports the same numbers as one uninterrupted process.

Units are dealt out in rounds of one per process; after each round the results are gathered to
every rank (each needs them for the phases that follow) and rank 0 alone saves them, atomically,
one file per unit. A resumed run loads the saved units instead of recomputing them.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from tqdm.auto import tqdm

from .distributed import DistContext


def split(n: int, batch_size: int, max_units: int = 8, min_unit: int = 25) -> List[slice]:
    """Cut ``n`` examples into near-equal contiguous slices: never larger than ``batch_size``, at
    most ``max_units`` of them unless the batch size demands more, none smaller than ``min_unit``
    unless ``n`` is. The cut depends on ``n`` and the settings only, never on the process count."""
    if n <= 0:
        return []
    count = max(-(-n // batch_size), min(max_units, max(1, n // min_unit)))
    base, extra = divmod(n, count)
    out, start = [], 0
    for k in range(count):
        size = base + (1 if k < extra else 0)
        out.append(slice(start, start + size))
        start += size
    return out


def unit_seed(seed: int, phase: str, unit: int) -> int:
    """A seed for one unit that does not depend on which units ran before it."""
    digest = hashlib.sha256(f"{seed}/{phase}/{unit}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def _cpu(value: Any) -> Any:
    """Unit results travel between processes and into files: tensors on the CPU."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: _cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cpu(v) for v in value)
    return value


def rounds(todo: Sequence[int], ctx: DistContext, fn: Callable[[int], Any]) -> Iterator[List[Tuple[int, Any]]]:
    """Deal ``todo`` out in rounds of one item per process, as :meth:`Units.map` does, and yield each
    round's ``(item, fn(item))`` pairs in item order on every rank: for jobs that write each result
    as it arrives rather than keep them all (``craft``: its shards go to disk, not into memory)."""
    for start in range(0, len(todo), ctx.world):
        round_ = list(todo[start:start + ctx.world])
        got: Dict[int, Any] = {}
        for part in ctx.gather({i: _cpu(fn(i)) for i in round_[ctx.rank:ctx.rank + 1]}):
            got.update(part)
        yield [(i, got[i]) for i in round_]


class UnitStore:
    """One file per finished unit under ``root`` (``None``: keep nothing, as in a library call)."""

    def __init__(self, root: Optional[Path]):
        self.root = None if root is None else Path(root)

    def _path(self, phase: str, unit: int) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in phase)
        return self.root / safe / f"unit-{unit:05d}.pt"

    def load(self, phase: str, unit: int) -> Optional[Dict[str, Any]]:
        if self.root is None:
            return None
        path = self._path(phase, unit)
        if not path.exists():
            return None
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception:  # a unit file cut short by a kill between write and rename cannot happen,
            return None    # but a damaged disk can: recompute rather than fail the whole run

    def save(self, phase: str, unit: int, value: Dict[str, Any]) -> None:
        if self.root is None:
            return
        path = self._path(phase, unit)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".unit-", suffix=".tmp")
        os.close(fd)
        try:
            torch.save(value, tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


class Units:
    """Runs phases unit by unit: loads what a previous run finished, shares the rest out over the
    processes, saves each result on rank 0 and returns every unit's result, in order, on every rank."""

    def __init__(self, store: UnitStore, ctx: DistContext, progress: bool = False,
                 log: Callable[[str], None] = lambda s: None):
        self.store, self.ctx, self.progress, self.log = store, ctx, progress, log

    def map(self, phase: str, count: int, fn: Callable[[int], Dict[str, Any]], desc: str) -> List[Dict[str, Any]]:
        """``fn(unit) -> dict`` of tensors, numbers, strings and lists for units 0..count-1."""
        results: Dict[int, Dict[str, Any]] = {}
        if self.ctx.is_main:  # rank 0 alone reads and writes the run folder
            for i in range(count):
                saved = self.store.load(phase, i)
                if saved is not None:
                    results[i] = saved
        results = self.ctx.broadcast(results)
        todo = [i for i in range(count) if i not in results]
        if count and not todo:
            self.log(f"{desc}: finished in an earlier run, skipped")
            return [results[i] for i in range(count)]
        if results:
            self.log(f"{desc}: {len(results)} of {count} units finished in an earlier run, skipped")
        world, rank = self.ctx.world, self.ctx.rank
        bar = tqdm(total=len(todo), desc=desc, disable=not (self.progress and self.ctx.is_main), leave=False)
        for start in range(0, len(todo), world):
            round_ = todo[start:start + world]
            mine = {i: _cpu(fn(i)) for i in round_[rank:rank + 1]}
            for part in self.ctx.gather(mine):
                for i, value in part.items():
                    results[i] = value
                    if self.ctx.is_main:
                        self.store.save(phase, i, value)
            bar.update(len(round_))
        bar.close()
        return [results[i] for i in range(count)]
