"""Datasets by name: Fashion-MNIST (local), CIFAR-10 (torchvision), or a folder of images."""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Optional, Sequence

import torch
from torch.utils.data import Dataset, Subset, TensorDataset

from ..validation import first_line
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
    ``root`` (--data-dir), when given, must exist and hold the dataset: it is never silently replaced
    by other data. ``DataInfo.source`` names the files or folder actually read.
    """
    if root is not None and not os.path.isdir(root):
        raise FileNotFoundError(f"data directory not found: {root}")
    if name == "fashion-mnist":
        files = fm.find_files(split, root)
        ds = fm.fashion_mnist(split, root)
        source = f"IDX files {files[0]} and {files[1]}" if files else f"embedded sample {fm.embedded_path()}"
        return ds, DataInfo(name, fm.CLASSES, 1, 28, source)
    if name == "cifar10":
        from torchvision import datasets, transforms

        try:
            ds = datasets.CIFAR10(str(root or "."), train=split == "train", download=False,
                                  transform=transforms.ToTensor())
        except RuntimeError as exc:
            raise FileNotFoundError(f"CIFAR-10 not found under {root or '.'}: pass --data-dir with the "
                                    f"extracted cifar-10-batches-py ({exc})") from None
        source = f"CIFAR-10 batches in {os.path.abspath(os.path.join(root or '.', ds.base_folder))}"
        return ds, DataInfo(name, tuple(ds.classes), 3, 32, source)
    if name.startswith("folder:"):
        return _image_folder(name, name[len("folder:"):])
    for prefix in ("npz:", "hf:", "crafted:"):
        if name.startswith(prefix):
            return _stored(name, prefix[:-1], name[len(prefix):])
    raise ValueError(f"unknown dataset {name!r}: use 'fashion-mnist', 'cifar10', 'folder:<path>', 'npz:<file>', "
                     f"'hf:<folder>' (Hugging Face save_to_disk) or 'crafted:<folder>' (robustgan craft)")


def _stored(name: str, kind: str, path: str) -> tuple:
    """A dataset this library wrote (or any in the same layout): one set, whatever the split asked."""
    from . import formats

    if kind == "crafted":
        from ..features.dataset import CraftedDataset

        crafted = CraftedDataset(path)
        ds, classes = TensorDataset(crafted.x, crafted.y), crafted.manifest.get("classes")
        classes = classes or [str(k) for k in range(int(crafted.y.max()) + 1)]
    else:
        ds, classes, _ = (formats.read_npz if kind == "npz" else formats.read_hf)(path)
    if len(ds) == 0:
        raise ValueError(f"{path}: the dataset is empty")
    first = ds[0][0]
    return ds, DataInfo(name, tuple(classes), first.shape[0], first.shape[-1], os.path.abspath(path))


GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "F"})


def read_image(path: str, mode: str = "RGB"):
    """A PIL image file converted to ``mode``; a damaged file fails with a sentence naming it
    (PIL's own error, e.g. "image file is truncated", says nothing of which file)."""
    from PIL import Image

    try:
        with open(path, "rb") as f:
            return Image.open(f).convert(mode)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ValueError(f"cannot read image {path}: the file is corrupt, truncated or not an image "
                         f"({first_line(exc)})") from None


def folder_mode(paths: Sequence[str]) -> str:
    """'L' when every image is grey, else 'RGB': one mode for the whole folder, from what it holds.

    torchvision's loader makes every image RGB, which hands a grey model three channels; reading
    each file's header (cheap: no pixels are decoded) also names a file that is no image now."""
    from PIL import Image

    for path in paths:
        try:
            with Image.open(path) as img:
                mode = img.mode
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise ValueError(f"cannot read image {path}: the file is corrupt or not an image "
                             f"({first_line(exc)})") from None
        if mode not in GREY_MODES:
            return "RGB"
    return "L"


def _image_folder(name: str, path: str) -> tuple:
    """An ImageFolder tree read in the one mode its images call for (grey or RGB)."""
    from torchvision import datasets, transforms

    if not os.path.isdir(path):
        raise FileNotFoundError(f"image folder not found: {path}")
    ds = datasets.ImageFolder(path, transform=transforms.ToTensor())
    ds.loader = functools.partial(read_image, mode=folder_mode([p for p, _ in ds.samples]))
    first = ds[0][0]
    return ds, DataInfo(name, tuple(ds.classes), first.shape[0], first.shape[-1], os.path.abspath(path))


def take(dataset: Dataset, n: Optional[int]) -> tuple:
    """The first ``n`` examples (all when None) as two tensors."""
    if n is not None:
        dataset = Subset(dataset, range(min(n, len(dataset))))
    if isinstance(dataset, TensorDataset):
        return dataset.tensors
    xs, ys = zip(*(dataset[i] for i in range(len(dataset))))
    shapes = sorted({tuple(x.shape) for x in xs})
    if len(shapes) > 1:  # torch.stack would fail with a bare size mismatch
        raise ValueError(f"the dataset's images differ in shape ({', '.join(map(str, shapes[:3]))}"
                         f"{', …' if len(shapes) > 3 else ''}); resize them to one size")
    return torch.stack(xs), torch.as_tensor(ys)
