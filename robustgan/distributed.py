"""Multi-process jobs without code changes: ``torchrun`` sets WORLD_SIZE/RANK, the job reacts.

With WORLD_SIZE > 1 a job joins (or creates) the default process group — gloo on CPU, nccl on CUDA.
The trainer wraps the model in DistributedDataParallel and gives each rank its share of every batch;
evaluation gives each rank its share of the work units (:mod:`robustgan.units`), as do ``craft``
(shards), ``invert`` and ``attribute``; GAN training averages its gradients over the ranks
(:meth:`DistContext.average_gradients`). Rank 0 alone prints and writes.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Tuple, TypeVar

import torch
import torch.distributed as dist
from torch import Tensor, nn

T = TypeVar("T")


def world_size() -> int:
    """Processes in this job: the live process group's size, else WORLD_SIZE, else 1."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return int(os.environ.get("RANK", "0"))


def is_main_process() -> bool:
    """True on rank 0 (and in a plain single-process run): the process that writes and prints."""
    return rank() == 0


@dataclass
class DistContext:
    world: int
    rank: int
    device: str
    created_group: bool = False

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def wrap(self, model: nn.Module) -> nn.Module:
        """DDP around ``model`` (already on this rank's device), or the model itself in one process."""
        if not self.active:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [torch.device(self.device).index] if self.device.startswith("cuda") else None
        return DistributedDataParallel(model, device_ids=ids)

    def sum(self, values: List[float]) -> List[float]:
        """Element-wise sum over ranks (epoch statistics)."""
        if not self.active:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64, device=self.device if self.device.startswith("cuda") else "cpu")
        dist.all_reduce(t)
        return t.tolist()

    def gather(self, obj: Any) -> List[Any]:
        if not self.active:
            return [obj]
        out: List[Any] = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank (what rank 0 read from disk, e.g.)."""
        if not self.active:
            return obj
        box = [obj if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def main_only(self, fn: Callable[[], T]) -> T:
        """``fn()`` run on rank 0 alone (what touches the run folder: its lock, refuse-or-resume, a
        checkpoint read), its value — or the exception it raised — on every rank, so a refusal ends
        every process with the same one-line error instead of leaving the others waiting."""
        outcome: Tuple[bool, Any] = (True, None)
        if self.is_main:
            try:
                outcome = (True, fn())
            except Exception as exc:  # re-raised below, on every rank
                outcome = (False, exc)
        ok, value = self.broadcast(outcome)
        if not ok:
            raise value
        return value

    def average_gradients(self, params: Iterable[nn.Parameter]) -> None:
        """Each gradient replaced by its mean over the ranks (one all-reduce per dtype): the update
        DistributedDataParallel makes, for models a DDP wrapper cannot hold — a GAN's critic is called
        several times per backward and differentiated twice by gradient penalties."""
        if not self.active:
            return
        by_dtype: Dict[torch.dtype, List[Tensor]] = {}
        for p in params:
            if p.grad is not None:
                by_dtype.setdefault(p.grad.dtype, []).append(p.grad)
        for grads in by_dtype.values():
            flat = torch.cat([g.reshape(-1) for g in grads])
            dist.all_reduce(flat)
            flat /= self.world
            offset = 0
            for g in grads:
                g.copy_(flat[offset:offset + g.numel()].view_as(g))
                offset += g.numel()

    def broadcast_buffers(self, module: nn.Module) -> None:
        """Rank 0's buffers (BatchNorm statistics, …) on every rank, as DDP broadcasts them."""
        if self.active:
            for b in module.buffers():
                dist.broadcast(b, src=0)

    def close(self) -> None:
        """Destroy the process group if this context created it."""
        if self.created_group and dist.is_initialized():
            dist.destroy_process_group()
            self.created_group = False


def setup(device: str = "cpu") -> DistContext:
    """Read the launcher's environment and join the process group; a no-op for one process.

    On CUDA each rank uses ``cuda:LOCAL_RANK`` (unless a device index is given).
    """
    world = world_size()
    if world <= 1:
        return DistContext(1, 0, device)
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but torch.distributed is not available in this build")
    if str(device).startswith("cuda") and ":" not in str(device):
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    created = False
    if not dist.is_initialized():
        for var in ("MASTER_ADDR", "MASTER_PORT", "RANK"):
            if var not in os.environ:
                raise RuntimeError(f"WORLD_SIZE={world} but {var} is not set: launch with torchrun")
        if str(device).startswith("cuda"):
            torch.cuda.set_device(torch.device(device))
        dist.init_process_group(backend="nccl" if str(device).startswith("cuda") else "gloo")
        created = True
    return DistContext(dist.get_world_size(), dist.get_rank(), str(device), created)


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if hasattr(model, "module") and isinstance(model, nn.parallel.DistributedDataParallel) else model


def tensor_equal_across_ranks(t: Tensor) -> bool:
    """Whether every rank holds the same tensor (a check for tests and sanity asserts)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return True
    gathered = [torch.empty_like(t) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, t.contiguous())
    return all(torch.equal(gathered[0], g) for g in gathered[1:])
