"""Image-to-image tasks built offline from real Fashion-MNIST: what each translation GAN learns.

* ``edges`` (paired, pix2pix): source = a fixed edge operator's map of the garment, target = the garment;
* ``superres`` (paired, SRGAN): source = the garment area-downsampled to 14×14 (or 7×7), target = 28×28;
* ``unpaired`` (CycleGAN): two classes as two domains (default sneakers ↔ ankle boots), each shuffled
  on its own, so no image of one domain is paired with one of the other;
* ``domains`` (StarGAN): several classes as domains (default sandal, sneaker, ankle boot), with labels.

A task records the settings that made it (``settings``), which a training run adds to its identity.
"""
from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import torch
from torch import Tensor

from ...data import FASHION_MNIST_CLASSES, load_dataset
from .operators import downsample, edge_map

KINDS = ("paired", "unpaired", "domains")


@dataclass
class TranslationTask:
    """Images in [0, 1], (N, C, H, W). Paired: ``sources[i]`` ↦ ``targets[i]``. Unpaired: ``sources``
    is domain A and ``targets`` domain B (of any lengths). Domains: ``sources`` with ``domains`` (N,)
    indices into ``names``."""

    name: str
    kind: str
    sources: Tensor
    targets: Optional[Tensor] = None
    domains: Optional[Tensor] = None
    names: Tuple[str, ...] = ()
    settings: Dict[str, Any] = field(default_factory=dict)

    @property
    def source_shape(self) -> Tuple[int, int, int]:
        return tuple(self.sources.shape[1:])

    @property
    def target_shape(self) -> Tuple[int, int, int]:
        return tuple((self.targets if self.targets is not None else self.sources).shape[1:])

    @property
    def num_domains(self) -> int:
        return len(self.names) if self.kind == "domains" else 0

    def __len__(self) -> int:
        return int(self.sources.shape[0])


def _check_count(n: Optional[int]) -> None:
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
        raise ValueError(f"n must be a positive integer or None (all images), got {n!r}")


def _check_classes(classes: Optional[Sequence[int]], least: int, most: Optional[int] = None) -> Optional[Tuple[int, ...]]:
    if classes is None:
        return None
    classes = tuple(classes)
    if any(not isinstance(c, int) or isinstance(c, bool) or not 0 <= c < len(FASHION_MNIST_CLASSES) for c in classes):
        raise ValueError(f"classes must be Fashion-MNIST class indices 0..9, got {classes!r}")
    if len(set(classes)) != len(classes):
        raise ValueError(f"classes must be distinct, got {classes!r}")
    if len(classes) < least or (most is not None and len(classes) > most):
        want = f"exactly {least}" if most == least else f"at least {least}"
        raise ValueError(f"this task needs {want} classes, got {classes!r}")
    return classes


def garments(split: str = "train", classes: Optional[Sequence[int]] = None, n: Optional[int] = None,
             seed: int = 0, root: Optional[os.PathLike] = None) -> Tuple[Tensor, Tensor]:
    """Real Fashion-MNIST images and labels of ``classes`` (all when None), in a seeded random order,
    the first ``n`` of them (all when None). The test split falls back to the shipped sample."""
    _check_count(n)
    ds, _ = load_dataset("fashion-mnist", split, root)
    x, y = ds.tensors
    if classes is not None:
        keep = torch.isin(y, torch.tensor(list(classes)))
        x, y = x[keep], y[keep]
    order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed))
    order = order[:n] if n is not None else order
    if order.numel() == 0:
        raise ValueError(f"no Fashion-MNIST {split} images of classes {classes}")
    return x[order].contiguous(), y[order].contiguous()


def _settings(name: str, **values: Any) -> Dict[str, Any]:
    return {"task": name, **{k: (list(v) if isinstance(v, tuple) else v) for k, v in values.items()}}


def edges_task(n: Optional[int] = None, split: str = "train", seed: int = 0, operator: str = "sobel",
               threshold: float = 0.2, classes: Optional[Sequence[int]] = None,
               root: Optional[os.PathLike] = None) -> TranslationTask:
    """Edge map → garment (pix2pix's edges → shoes, at 28 px); every class unless ``classes``."""
    classes = _check_classes(classes, 1)
    x, _ = garments(split, classes, n, seed, root)
    source = edge_map(x, operator, threshold)
    return TranslationTask("edges", "paired", source, x, names=("edges", "garment"),
                           settings=_settings("edges", n=n, split=split, seed=seed, operator=operator,
                                              threshold=float(threshold), classes=classes))


def superres_task(n: Optional[int] = None, split: str = "train", seed: int = 0, size: int = 14,
                  classes: Optional[Sequence[int]] = None, root: Optional[os.PathLike] = None) -> TranslationTask:
    """Low resolution (``size`` 14: ×2, or 7: ×4; area downsampling) → the 28×28 garment (SRGAN)."""
    if size not in (7, 14):
        raise ValueError(f"size must be 14 (×2) or 7 (×4), got {size!r}")
    classes = _check_classes(classes, 1)
    x, _ = garments(split, classes, n, seed, root)
    return TranslationTask("superres", "paired", downsample(x, size), x, names=(f"{size}px", "28px"),
                           settings=_settings("superres", n=n, split=split, seed=seed, size=size, classes=classes))


def unpaired_task(n: Optional[int] = None, split: str = "train", seed: int = 0, classes: Sequence[int] = (7, 9),
                  root: Optional[os.PathLike] = None) -> TranslationTask:
    """Two classes as domains A ↔ B (CycleGAN), ``n`` images each, in independent seeded orders."""
    a, b = _check_classes(classes, 2, 2)
    x_a, _ = garments(split, (a,), n, seed, root)
    x_b, _ = garments(split, (b,), n, seed + 1, root)
    return TranslationTask("unpaired", "unpaired", x_a, x_b,
                           names=(FASHION_MNIST_CLASSES[a], FASHION_MNIST_CLASSES[b]),
                           settings=_settings("unpaired", n=n, split=split, seed=seed, classes=(a, b)))


def domains_task(n: Optional[int] = None, split: str = "train", seed: int = 0, classes: Sequence[int] = (5, 7, 9),
                 root: Optional[os.PathLike] = None) -> TranslationTask:
    """Several classes as domains with labels 0..K−1 in the order of ``classes`` (StarGAN); ``n`` in all."""
    classes = _check_classes(classes, 2)
    x, y = garments(split, classes, n, seed, root)
    domains = torch.searchsorted(torch.tensor(sorted(classes)), y)
    remap = torch.tensor([classes.index(c) for c in sorted(classes)])
    return TranslationTask("domains", "domains", x, domains=remap[domains],
                           names=tuple(FASHION_MNIST_CLASSES[c] for c in classes),
                           settings=_settings("domains", n=n, split=split, seed=seed, classes=classes))


TASKS: Dict[str, Callable[..., TranslationTask]] = {
    "edges": edges_task, "superres": superres_task, "unpaired": unpaired_task, "domains": domains_task,
}


def make_task(name: str, **options: Any) -> TranslationTask:
    """The task called ``name`` (one of :data:`TASKS`), built with ``options`` (n, split, seed, …)."""
    if name not in TASKS:
        raise ValueError(f"unknown translation task {name!r}: choose one of {sorted(TASKS)}")
    build = TASKS[name]
    try:
        inspect.signature(build).bind(**options)
    except TypeError as exc:
        raise ValueError(f"bad options for task {name!r}: {exc}") from None
    return build(**options)


__all__ = ["KINDS", "TASKS", "TranslationTask", "domains_task", "edges_task", "garments", "make_task",
           "superres_task", "unpaired_task"]
