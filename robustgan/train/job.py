"""``robustgan train``: a classifier on a dataset, saved as a self-describing checkpoint."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional

import torch

from ..data import load_dataset
from ..models import Normalized, build_model, save_classifier
from .trainer import TrainConfig, accuracy, train_classifier

# per-channel statistics of each dataset's training split, used inside the model
NORMALIZATION = {"fashion-mnist": ((0.2860,), (0.3530,)), "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))}


def train_job(out: Path, *, arch: str = "small-cnn", dataset: str = "fashion-mnist", data_dir: Optional[str] = None,
              config: TrainConfig = TrainConfig(), resume: bool = False, device: str = "cpu",
              progress: bool = True) -> Dict[str, Any]:
    out = Path(out)
    train_set, info = load_dataset(dataset, "train", data_dir)
    test_set, _ = load_dataset(dataset, "test", data_dir)
    torch.manual_seed(config.seed)
    arch_kwargs = {"in_channels": info.channels, "num_classes": len(info.classes)}
    if arch in ("small-cnn",):
        arch_kwargs["image_size"] = info.size
    mean, std = NORMALIZATION.get(dataset, ((0.5,) * info.channels, (0.5,) * info.channels))
    model = Normalized(build_model(arch, **arch_kwargs), mean, std)
    history = train_classifier(model, train_set, config, test_set=test_set,
                               checkpoint=out.with_suffix(".train.pt"), resume=resume, device=device,
                               progress=progress)
    test_acc = accuracy(model, test_set, device=device)
    meta = {"dataset": dataset, "test_accuracy": test_acc, "epochs": config.epochs, "seed": config.seed,
            "batch_size": config.batch_size, "lr": config.lr, "classes": list(info.classes),
            "test_examples": len(test_set)}
    save_classifier(out, model.cpu(), arch, arch_kwargs, meta)
    return {"checkpoint": str(out), "history": history.epochs, **meta}
