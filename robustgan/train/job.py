"""``robustgan train``: a classifier on a dataset, saved as a self-describing checkpoint."""
from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any, Dict, Optional

import torch
from torch.utils.data import Dataset, Subset

from ..data import load_dataset, take
from ..models import Normalized, build_model, model_fingerprint, save_classifier
from ..runs import check_writable_file, claim, run_identity, run_lock
from .. import distributed
from .trainer import TrainConfig, accuracy, train_classifier

# per-channel statistics of each dataset's training split, used inside the model
NORMALIZATION = {"fashion-mnist": ((0.2860,), (0.3530,)), "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))}


def first(dataset: Dataset, n: Optional[int]) -> Dataset:
    """The first ``n`` examples (all when None or larger than the dataset)."""
    if n is None or n >= len(dataset):
        return dataset
    if n < 1:
        raise ValueError(f"a subset needs at least one example, got {n}")
    return Subset(dataset, range(n))


def new_classifier(arch: str, info, dataset: str, seed: int) -> tuple:
    """(Normalized model with fresh weights drawn from ``seed``, arch kwargs)."""
    torch.manual_seed(seed)
    arch_kwargs = {"in_channels": info.channels, "num_classes": len(info.classes)}
    if arch in ("small-cnn", "mlp"):
        arch_kwargs["image_size"] = info.size
    mean, std = NORMALIZATION.get(dataset, ((0.5,) * info.channels, (0.5,) * info.channels))
    return Normalized(build_model(arch, **arch_kwargs), mean, std), arch_kwargs


def robust_accuracy(model, dataset: Dataset, eps: float, *, norm: str = "linf", steps: int = 20, n: int = 1000,
                    batch_size: int = 500, seed: int = 0, device: str = "cpu") -> float:
    """Accuracy under PGD-``steps`` (random start, step 2.5ε/steps) on the first ``n`` examples."""
    import attacks

    from ..optim import frozen

    x, y = take(dataset, n)
    gen = torch.Generator().manual_seed(seed)
    correct = 0
    for i in range(0, len(x), batch_size):
        xb, yb = x[i:i + batch_size].to(device), y[i:i + batch_size].to(device)
        with frozen([model]), torch.no_grad():
            clean = model(xb).argmax(1) == yb  # a point misclassified already is not robust
        res = attacks.pgd(model, xb, yb, eps, norm=norm, steps=steps, early_stop=True, generator=gen)
        correct += int((clean & ~res.success).sum())
    return correct / max(len(x), 1)


def train_job(out: Path, *, arch: str = "small-cnn", dataset: str = "fashion-mnist", data_dir: Optional[str] = None,
              config: TrainConfig = TrainConfig(), resume: bool = False, device: str = "cpu",
              progress: bool = True, train_subset: Optional[int] = None, test_subset: Optional[int] = None,
              robust_eval: int = 0, robust_eval_steps: int = 20, perturb: Optional[Any] = None,
              force: bool = False) -> Dict[str, Any]:
    """Train, then (rank 0 only) measure clean — and with ``robust_eval`` > 0, PGD — test accuracy and save.

    The robust evaluation uses ``config.adversarial``'s ε and norm (ε = 0.1, L∞ for a standard model).
    ``out`` (or its ``.train.pt``) already there: continued with ``resume`` (same run identity:
    settings, architecture, data), replaced with ``force``, else refused; one writer at a time.
    """
    out = Path(out)
    main = distributed.is_main_process()
    if main:  # a folder or an unwritable place fails now, not when the trained model is saved
        check_writable_file(out)
    with run_lock(out.with_name(out.name + ".lock")) if main else nullcontext():
        if main:  # before any data is read; the other ranks follow rank 0's decision
            claim(out, [out, out.with_suffix(".train.pt")], resume=resume, force=force)
        return _train_job(out, arch, dataset, data_dir, config, resume, device, progress, train_subset, test_subset,
                          robust_eval, robust_eval_steps, perturb)


def _train_job(out, arch, dataset, data_dir, config, resume, device, progress, train_subset, test_subset,
               robust_eval, robust_eval_steps, perturb) -> Dict[str, Any]:
    train_set, info = load_dataset(dataset, "train", data_dir)
    test_set, _ = load_dataset(dataset, "test", data_dir)
    train_set, test_set = first(train_set, train_subset), first(test_set, test_subset)
    model, arch_kwargs = new_classifier(arch, info, dataset, config.seed)
    identity = {"arch": arch, "arch_kwargs": arch_kwargs, "dataset": dataset, "train_examples": len(train_set),
                "test_examples": len(test_set),
                "perturb": None if perturb is None else
                perturb.settings() if hasattr(perturb, "settings") else type(perturb).__name__}
    history = train_classifier(model, train_set, config, test_set=test_set,
                               checkpoint=out.with_suffix(".train.pt"), resume=resume, device=device,
                               progress=progress, perturb=perturb, identity=identity)
    adv = config.adversarial
    meta = {"dataset": dataset, "epochs": config.epochs, "seed": config.seed,
            "batch_size": config.batch_size, "lr": config.lr, "classes": list(info.classes),
            "train_examples": len(train_set), "test_examples": len(test_set),
            "adversarial": None if adv is None else {**adv.__dict__, "steps": adv.inner_steps,
                                                     "step_size": adv.inner_step_size},
            "world_size": distributed.world_size(), "run": run_identity({**config.identity(), **identity})}
    if perturb is not None:  # e.g. the latent / pixel mix of generative adversarial training
        meta["perturb"] = perturb.settings() if hasattr(perturb, "settings") else type(perturb).__name__
    if not distributed.is_main_process():
        return {"checkpoint": None, "history": history.epochs, **meta}
    device = device if not str(device).startswith("cuda") else str(next(model.parameters()).device)
    meta["test_accuracy"] = accuracy(model, test_set, device=device)
    if robust_eval > 0:
        eps, norm = (0.1, "linf") if adv is None else (adv.eps, adv.norm)
        meta["robust_accuracy"] = {"attack": f"PGD-{robust_eval_steps}", "norm": norm, "eps": eps,
                                   "examples": min(robust_eval, len(test_set)),
                                   "accuracy": robust_accuracy(model, test_set, eps, norm=norm,
                                                               steps=robust_eval_steps, n=robust_eval,
                                                               seed=config.seed, device=device)}
    meta["fingerprint"] = model_fingerprint(model)
    save_classifier(out, model.cpu(), arch, arch_kwargs, meta)
    return {"checkpoint": str(out), "history": history.epochs, **meta}
