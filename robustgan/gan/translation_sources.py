"""Source images for a trained translator, made from real images the way its checkpoint's task made them.

A translator only makes sense on the sources it learnt from: edge maps for an ``edges`` pix2pix,
low-resolution images for ``superres``, domain-A (or B) garments for ``unpaired``, garments of the
*other* domains for a StarGAN translating into one. The images come from a split in its stored order,
after the first ``skip`` (``attribute`` holds its real and calibration images there), so the sources
are of images the command uses nowhere else.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

DEFAULT_TASK = {"pix2pix": "edges", "srgan": "superres", "cyclegan": "unpaired", "stargan": "domains"}
DEFAULT_CLASSES = {"unpaired": (7, 9), "domains": (5, 7, 9)}


def recorded_task(checkpoint: Mapping[str, Any]) -> Dict[str, Any]:
    """The task settings a training checkpoint records; for a bare ``save_translator`` file, the arch's
    default task with its default settings."""
    data = ((checkpoint.get("run") or {}).get("settings") or {}).get("data")
    return dict(data) if data else {"task": DEFAULT_TASK[checkpoint["arch"]]}


def task_classes(settings: Mapping[str, Any]) -> Optional[Tuple[int, ...]]:
    """The Fashion-MNIST classes the task used (None: all of them)."""
    classes = settings.get("classes") or DEFAULT_CLASSES.get(settings["task"])
    return tuple(int(c) for c in classes) if classes is not None else None


def domain_names(checkpoint: Mapping[str, Any]) -> Tuple[str, ...]:
    """A StarGAN checkpoint's domains by class name, in index order."""
    from ..data import FASHION_MNIST_CLASSES

    return tuple(FASHION_MNIST_CLASSES[c] for c in task_classes(recorded_task(checkpoint)) or ())


def resolve_domain(checkpoint: Mapping[str, Any], domain: Union[int, str, None]) -> int:
    """A target domain given as an index or a class name (``sneaker``, ``ankle-boot``; any case) as its
    index; None: domain 0."""
    names = domain_names(checkpoint)
    if domain is None:
        return 0
    text = str(domain).strip()
    if text.isdigit() and int(text) < len(names):
        return int(text)
    plain = lambda name: name.lower().replace("-", " ").replace("_", " ")  # noqa: E731
    if plain(text) in map(plain, names):
        return [plain(n) for n in names].index(plain(text))
    raise ValueError(f"unknown domain {domain!r}: this StarGAN's domains are "
                     + ", ".join(f"{i} ({n})" for i, n in enumerate(names)))


def _garments(split: str, root: Optional[os.PathLike], skip: int, keep: Optional[Sequence[int]],
              n: int, what: str) -> Tensor:
    """The first ``n`` images of ``split`` after the first ``skip``, of the classes ``keep`` (all: None)."""
    from ..data import load_dataset

    ds, _ = load_dataset("fashion-mnist", split, root)
    x, y = (t[skip:] for t in ds.tensors)
    if keep is not None:
        x = x[torch.isin(y, torch.tensor(list(keep)))]
    if x.shape[0] < n:
        raise ValueError(f"{what}: need {n} Fashion-MNIST {split} images, only {x.shape[0]} are left after the "
                         f"first {skip}; ask for fewer, or give the full split (--data-dir)")
    return x[:n].float()


def translator_sources(checkpoint: Mapping[str, Any], generator: nn.Module, n: int, *, direction: str = "ab",
                       domain: Optional[int] = None, split: str = "test", skip: int = 0,
                       root: Optional[os.PathLike] = None) -> Tensor:
    """``n`` sources for ``generator`` (loaded from ``checkpoint``) in [0, 1], as its recorded task makes them.

    ``direction`` picks CycleGAN's domain A (``ab``) or B (``ba``); ``domain`` is the target of a StarGAN,
    whose sources are the images of its other domains.
    """
    from .translation.operators import downsample, edge_map

    settings = recorded_task(checkpoint)
    task, classes = settings["task"], task_classes(settings)
    what = f"sources for the {checkpoint['arch']} {task} translator"
    if task == "edges":
        x = _garments(split, root, skip, classes, n, what)
        return edge_map(x, settings.get("operator", "sobel"), settings.get("threshold", 0.2))
    if task == "superres":
        size = int(settings.get("size") or generator.source_shape[-1])
        return downsample(_garments(split, root, skip, classes, n, what), size)
    if task == "unpaired":
        return _garments(split, root, skip, classes[:1] if direction == "ab" else classes[1:], n, what)
    if task == "domains":
        target = resolve_domain(checkpoint, domain)
        return _garments(split, root, skip, [c for i, c in enumerate(classes) if i != target], n, what)
    raise ValueError(f"{what}: unknown task {task!r}")


__all__ = ["DEFAULT_TASK", "domain_names", "recorded_task", "resolve_domain", "translator_sources"]
