"""Classifier training with atomic per-epoch checkpoints and bit-exact resume on CPU.

Shuffling uses a generator seeded from (seed, epoch), and the checkpoint holds model, optimiser
and RNG states, so a resumed run continues exactly as an uninterrupted one would.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from ..models.checkpoint import atomic_save, safe_load

Perturb = Callable[[nn.Module, Tensor, Tensor], Tensor]


@dataclass
class TrainConfig:
    epochs: int = 4
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    seed: int = 0
    num_workers: int = 0


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


def train_classifier(model: nn.Module, train_set: Dataset, config: TrainConfig, *,
                     test_set: Optional[Dataset] = None, checkpoint: Optional[Path] = None,
                     resume: bool = False, perturb: Optional[Perturb] = None,
                     device: str = "cpu", progress: bool = True) -> TrainHistory:
    """Train with Adam and cross-entropy; ``perturb(model, x, y)`` makes each batch adversarial."""
    model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    history = TrainHistory()
    start_epoch = 0
    if resume and checkpoint is not None and Path(checkpoint).exists():
        state = safe_load(checkpoint, map_location=device)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start_epoch = int(state["epoch"])
        history.epochs = list(state["history"])
        torch.set_rng_state(state["torch_rng"])
    elif resume:
        raise FileNotFoundError(f"--resume given but no checkpoint at {checkpoint}")
    else:
        torch.manual_seed(config.seed)
    for epoch in range(start_epoch, config.epochs):
        order = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
        loader = DataLoader(train_set, batch_size=config.batch_size, shuffle=True, generator=order,
                            num_workers=config.num_workers, drop_last=False)
        model.train()
        t0, seen, loss_sum, correct = time.perf_counter(), 0, 0.0, 0
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{config.epochs}", disable=not progress, leave=False)
        for x, y in bar:
            x, y = x.to(device), y.to(device)
            if perturb is not None:
                x = perturb(model, x, y)
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            seen += len(y)
            loss_sum += float(loss.detach()) * len(y)
            correct += int((logits.argmax(1) == y).sum())
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}")
        record = {"epoch": epoch + 1, "loss": loss_sum / seen, "train_acc": correct / seen,
                  "seconds": time.perf_counter() - t0, "images_per_s": seen / (time.perf_counter() - t0)}
        if test_set is not None:
            record["test_acc"] = accuracy(model, test_set, device=device)
        history.epochs.append(record)
        if progress:
            tqdm.write(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items()))
        if checkpoint is not None:
            atomic_save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch + 1,
                         "history": history.epochs, "torch_rng": torch.get_rng_state()}, checkpoint)
    model.eval()
    return history
