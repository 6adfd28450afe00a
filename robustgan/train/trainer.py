"""Classifier training with atomic per-epoch checkpoints and bit-exact resume on CPU.

Shuffling uses a generator seeded from (seed, epoch), the attacks of adversarial training and the
shift augmentation ones seeded from (seed, epoch, rank), and the checkpoint holds model, optimiser and RNG states, so a resumed run
continues exactly as an uninterrupted one would. Under ``torchrun`` (WORLD_SIZE > 1) the same call
trains with DistributedDataParallel; rank 0 alone prints and writes checkpoints.
"""
from __future__ import annotations

import dataclasses
import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from ..interrupt import RunInterrupted, deferred_interrupt
from ..models.checkpoint import atomic_save, safe_load
from ..runs import check_resume, run_identity
from ..validation import check_positive_int
from .. import distributed
from .adversarial import AdversarialConfig, adversarial_batch_loss
from .augment import random_shift, shift_seed

Perturb = Callable[[nn.Module, Tensor, Tensor], Tensor]


@dataclass
class TrainConfig:
    epochs: int = 4
    batch_size: int = 128  # global batch: split evenly over the processes of a distributed run
    lr: float = 1e-3
    weight_decay: float = 0.0
    seed: int = 0
    num_workers: int = 0
    adversarial: Optional[AdversarialConfig] = None  # None: standard training
    shift: int = 0  # translate each training image by up to this many pixels (zero fill); 0: no augmentation

    def __post_init__(self) -> None:
        for name, low in (("epochs", 0), ("batch_size", 1), ("shift", 0)):
            check_positive_int(getattr(self, name), name, minimum=low)
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        if self.adversarial is not None and not isinstance(self.adversarial, AdversarialConfig):
            raise TypeError("adversarial must be an AdversarialConfig or None")

    def identity(self) -> Dict[str, Any]:
        """The settings a resumed run must share with the run that wrote the checkpoint."""
        d = dataclasses.asdict(self)
        for k in ("epochs", "num_workers"):
            d.pop(k)
        if not d["shift"]:  # checkpoints written before augmentation existed stay resumable
            d.pop("shift")
        return d


@dataclass
class TrainHistory:
    epochs: List[Dict[str, float]] = field(default_factory=list)


@torch.no_grad()
def accuracy(model: nn.Module, dataset: Dataset, batch_size: int = 512, device: str = "cpu") -> float:
    """Clean accuracy; the model's mode is restored afterwards."""
    from ..optim.freeze import frozen

    correct = total = 0
    with frozen([model]):
        for x, y in DataLoader(dataset, batch_size=batch_size):
            pred = model(x.to(device)).argmax(dim=1).cpu()
            correct += int((pred == y).sum())
            total += len(y)
    return correct / max(total, 1)


def attack_seed(seed: int, epoch: int, rank: int = 0) -> int:
    """Seed of the inner attacks' generator for one epoch on one rank (independent of earlier epochs)."""
    return (seed * 1_000_003 + epoch * 7_919 + rank * 104_729 + 17) % (2 ** 63)


def _loader(train_set: Dataset, config: TrainConfig, epoch: int, ctx: distributed.DistContext) -> DataLoader:
    if not ctx.active:
        order = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
        return DataLoader(train_set, batch_size=config.batch_size, shuffle=True, generator=order,
                          num_workers=config.num_workers, drop_last=False)
    from torch.utils.data.distributed import DistributedSampler

    if config.batch_size % ctx.world:
        raise ValueError(f"batch_size {config.batch_size} must be divisible by the {ctx.world} processes")
    sampler = DistributedSampler(train_set, num_replicas=ctx.world, rank=ctx.rank, shuffle=True,
                                 seed=config.seed, drop_last=False)
    sampler.set_epoch(epoch)
    return DataLoader(train_set, batch_size=config.batch_size // ctx.world, sampler=sampler,
                      num_workers=config.num_workers, drop_last=False)


def _epoch(model, net, opt, train_set, config, epoch, ctx, perturb, device, show, stop, mid, save) -> dict:
    """One epoch; ``mid`` continues one interrupted after ``mid['batches']`` batches. On Ctrl-C
    (``stop.requested``) the batch under way finishes, ``save`` writes the epoch's position and the
    run raises :class:`RunInterrupted`."""
    adv = config.adversarial
    loader = _loader(train_set, config, epoch, ctx)
    attack_gen = torch.Generator().manual_seed(attack_seed(config.seed, epoch, ctx.rank))
    shift_gen = torch.Generator().manual_seed(shift_seed(config.seed, epoch, ctx.rank))
    done, seen, loss_sum, correct, before = 0, 0, 0.0, 0, 0.0
    if mid is not None:
        done, seen, loss_sum, correct, before = (mid["batches"], mid["seen"], mid["loss_sum"], mid["correct"],
                                                 mid["seconds"])
        attack_gen.set_state(mid["attack_gen"])
        shift_gen.set_state(mid["shift_gen"])
    net.train()
    t0 = time.perf_counter()
    batches = itertools.islice(iter(loader), done, None)  # the same order: the skipped batches are drawn, not used
    bar = tqdm(batches, total=len(loader), initial=done, desc=f"epoch {epoch + 1}/{config.epochs}",
               disable=not show, leave=False)
    for x, y in bar:
        x, y = x.to(device), y.to(device)
        if config.shift:
            x = random_shift(x, config.shift, shift_gen)
        if adv is not None:
            loss, logits = adversarial_batch_loss(adv, net, model, x, y, attack_gen)
        else:
            if perturb is not None:
                x = perturb(model, x, y)
            logits = net(x)
            loss = F.cross_entropy(logits, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        done += 1
        seen += len(y)
        loss_sum += float(loss.detach()) * len(y)
        correct += int((logits.argmax(1) == y).sum())
        bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}")
        if stop.requested and done < len(loader):
            bar.close()
            where = save({"epoch": epoch, "partial": {
                "batches": done, "seen": seen, "loss_sum": loss_sum, "correct": correct,
                "seconds": before + time.perf_counter() - t0,
                "attack_gen": attack_gen.get_state(), "shift_gen": shift_gen.get_state()}})
            hint = f"; checkpoint saved at {where}: continue with --resume" if where else \
                " (no checkpoint was asked for: the run cannot be continued)"
            raise RunInterrupted(f"interrupted in epoch {epoch + 1} of {config.epochs} after batch {done} of "
                                 f"{len(loader)}{hint}")
    elapsed = before + time.perf_counter() - t0
    seen, loss_sum, correct = ctx.sum([seen, loss_sum, correct])
    record = {"epoch": epoch + 1, "loss": loss_sum / seen, "train_acc": correct / seen,
              "seconds": elapsed, "images_per_s": seen / elapsed}
    if adv is not None:
        record["train_acc_kind"] = f"adversarial ({adv.method})"
    return record


def _save(checkpoint, ctx, model, opt, history, config, identity, perturb, extra: dict):
    """The resumable state (weights, optimiser, RNG, history, identity) plus ``extra``; returns the path."""
    rng_states = ctx.gather(torch.get_rng_state())
    if checkpoint is None or not ctx.is_main:
        return None
    atomic_save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                 "history": history.epochs, "torch_rng": rng_states[0], "torch_rng_ranks": rng_states,
                 "config": config.identity(), "run": run_identity({**config.identity(), **(identity or {})}),
                 **({"perturb": perturb.state_dict()} if hasattr(perturb, "state_dict") else {}), **extra},
                checkpoint)
    return checkpoint


def _restore(checkpoint: Path, config: TrainConfig, model: nn.Module, opt, device: str,
             ctx: distributed.DistContext, perturb: Optional[Perturb] = None,
             identity: Optional[Dict[str, Any]] = None) -> tuple:
    state = safe_load(checkpoint, map_location=device)
    if identity is not None:  # the caller knows the whole run (data, architecture): all of it must match
        check_resume(state.get("run"), {**config.identity(), **identity}, checkpoint)
    saved = state.get("config")
    if saved is not None and saved != config.identity():
        diff = sorted(k for k in set(saved) | set(config.identity()) if saved.get(k) != config.identity().get(k))
        raise ValueError(f"cannot resume {checkpoint}: it was written with different settings ({', '.join(diff)}); "
                         f"checkpoint has {({k: saved.get(k) for k in diff})}")
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        raise ValueError(f"cannot resume {checkpoint}: its weights do not fit this model: "
                         f"{str(exc).splitlines()[0][:200]}") from None
    opt.load_state_dict(state["optimizer"])
    ranks = state.get("torch_rng_ranks")
    rng = ranks[ctx.rank] if ranks is not None and len(ranks) == ctx.world else state["torch_rng"]
    torch.set_rng_state(rng)
    if hasattr(perturb, "load_state_dict"):  # a batch maker with its own random state (e.g. LatentPixelMix)
        if "perturb" not in state:
            raise ValueError(f"cannot resume {checkpoint}: it was written without this perturb hook")
        perturb.load_state_dict(state["perturb"])
    return int(state["epoch"]), list(state["history"]), state.get("partial")


def train_classifier(model: nn.Module, train_set: Dataset, config: TrainConfig, *,
                     test_set: Optional[Dataset] = None, checkpoint: Optional[Path] = None,
                     resume: bool = False, perturb: Optional[Perturb] = None,
                     device: str = "cpu", progress: bool = True,
                     identity: Optional[Dict[str, Any]] = None) -> TrainHistory:
    """Train with Adam; cross-entropy, or the adversarial loss of ``config.adversarial``.

    The checkpoint records the run identity: ``config.identity()`` plus ``identity`` (the settings
    only the caller knows: data, architecture). Given ``identity``, a resume continues only a
    checkpoint written with exactly those settings.

    ``perturb(model, x, y)`` is a hook that replaces each batch by one of its own making (standard
    training only). The inner attacks of adversarial training see the model in eval mode with
    frozen weights; train mode is back for the outer loss. Run under ``torchrun`` to train on
    several processes: nothing else changes.
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    if perturb is not None and config.adversarial is not None:
        raise ValueError("give either perturb or config.adversarial, not both")
    ctx = distributed.setup(device)
    device = ctx.device
    try:
        return _train(model, train_set, config, test_set, checkpoint, resume, perturb, device, progress, ctx,
                      identity)
    finally:
        ctx.close()


def _train(model, train_set, config, test_set, checkpoint, resume, perturb, device, progress, ctx,
           identity=None) -> TrainHistory:
    model.to(device)
    net = ctx.wrap(model)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    history = TrainHistory()
    start_epoch, partial = 0, None
    if resume and checkpoint is not None and Path(checkpoint).exists():
        start_epoch, history.epochs, partial = _restore(Path(checkpoint), config, model, opt, device, ctx, perturb,
                                                        identity)
    elif resume:
        raise FileNotFoundError(f"--resume given but no checkpoint at {checkpoint}")
    else:
        torch.manual_seed(config.seed + 1_000_003 * ctx.rank)
    show = progress and ctx.is_main
    with deferred_interrupt(enabled=not ctx.active) as stop:
        for epoch in range(start_epoch, config.epochs):
            mid = partial if epoch == start_epoch else None
            record = _epoch(model, net, opt, train_set, config, epoch, ctx, perturb, device, show, stop, mid,
                            lambda extra: _save(checkpoint, ctx, model, opt, history, config, identity, perturb, extra))
            if test_set is not None and ctx.is_main:
                record["test_acc"] = accuracy(model, test_set, device=device)
            history.epochs.append(record)
            if show:
                tqdm.write(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items()))
            _save(checkpoint, ctx, model, opt, history, config, identity, perturb, {"epoch": epoch + 1})
            ctx.barrier()
    model.eval()
    return history
