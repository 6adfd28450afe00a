"""Datasets by name: Fashion-MNIST (local), CIFAR-10 (torchvision), or a folder of images."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional, Sequence

import torch
from torch.utils.data import Dataset, Subset, TensorDataset

from . import fmnist as fm


@dataclass
class DataInfo:
    name: str
    classes: Sequence[str]
    channels: int
    size: int
    source: str


def load_dataset(name: str = "fashion-mnist", split: str = "test", root: Optional[os.PathLike] = None) -> tuple:
    """Return ``(dataset, DataInfo)``; images are float tensors in [0, 1]. Local files only: nothing
    is downloaded, so the same call works offline.

    ``name``: 'fashion-mnist', 'cifar10', or 'folder:<path>' (an ImageFolder tree, one sub-folder per class).
    """
    if name == "fashion-mnist":
        ds = fm.fashion_mnist(split, root)
        source = "embedded sample" if len(ds) == 1000 and split == "test" and not _has_full(root) else "IDX files"
        return ds, DataInfo(name, fm.CLASSES, 1, 28, source)
    if name == "cifar10":
        from torchvision import datasets, transforms

        try:
            ds = datasets.CIFAR10(str(root or "."), train=split == "train", download=False,
                                  transform=transforms.ToTensor())
        except RuntimeError as exc:
            raise FileNotFoundError(f"CIFAR-10 not found under {root or '.'}: pass --data-dir with the "
                                    f"extracted cifar-10-batches-py ({exc})") from None
        return ds, DataInfo(name, tuple(ds.classes), 3, 32, "torchvision")
    if name.startswith("folder:"):
        from torchvision import datasets, transforms

        path = name[len("folder:"):]
        if not os.path.isdir(path):
            raise FileNotFoundError(f"image folder not found: {path}")
        ds = datasets.ImageFolder(path, transform=transforms.ToTensor())
        first = ds[0][0]
        return ds, DataInfo(name, tuple(ds.classes), first.shape[0], first.shape[-1], path)
    raise ValueError(f"unknown dataset {name!r}: use 'fashion-mnist', 'cifar10' or 'folder:<path>'")


def _has_full(root) -> bool:
    return any(fm._find(d, fm._FILES["test"][0]) for d in fm.search_dirs(root))


def take(dataset: Dataset, n: Optional[int]) -> tuple:
    """The first ``n`` examples (all when None) as two tensors."""
    if n is not None:
        dataset = Subset(dataset, range(min(n, len(dataset))))
    if isinstance(dataset, TensorDataset):
        return dataset.tensors
    xs, ys = zip(*(dataset[i] for i in range(len(dataset))))
    return torch.stack(xs), torch.as_tensor(ys)
