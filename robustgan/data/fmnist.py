"""Fashion-MNIST from local IDX files (Debian's dataset-fashion-mnist), with an embedded fallback."""
from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import TensorDataset

from .idx import read_idx

CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
EMBEDDED = "fashion-mnist-test-sample.npz"

HOW_TO_GET = (
    "Fashion-MNIST was not found. Install it with `apt-get install dataset-fashion-mnist` (files in "
    f"{DEBIAN_DIR}), or point --data-dir / $ROBUSTGAN_DATA at a folder holding the IDX files "
    "(this library never downloads data)."
)


def search_dirs(root: Optional[os.PathLike]) -> Sequence[Path]:
    dirs = [Path(root)] if root else []
    if os.environ.get("ROBUSTGAN_DATA"):
        dirs.append(Path(os.environ["ROBUSTGAN_DATA"]))
    dirs.append(DEBIAN_DIR)
    return dirs


def _find(directory: Path, stem: str) -> Optional[Path]:
    for name in (stem + ".gz", stem):
        for candidate in (directory / name, directory / "FashionMNIST" / "raw" / name):
            if candidate.is_file():
                return candidate
    return None


def _to_dataset(images: np.ndarray, labels: np.ndarray) -> TensorDataset:
    x = torch.from_numpy(np.array(images, copy=True)).float().div_(255).unsqueeze(1)
    y = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    return TensorDataset(x, y)


def embedded_path() -> str:
    """Where the embedded sample lies, so a report names the file it read."""
    return str(resources.files("robustgan.data.embedded").joinpath(EMBEDDED))


def embedded_sample() -> TensorDataset:
    """1,000 real Fashion-MNIST test images (100 per class) that ship inside the package."""
    with resources.files("robustgan.data.embedded").joinpath(EMBEDDED).open("rb") as f:
        data = np.load(f)
        return _to_dataset(data["images"], data["labels"])


def fashion_mnist(split: str = "test", root: Optional[os.PathLike] = None,
                  allow_embedded: bool = True) -> TensorDataset:
    """Images in [0, 1] as (N, 1, 28, 28) float tensors with int64 labels.

    Looks in ``root`` alone when it is given (an error when it lacks the files), else in
    ``$ROBUSTGAN_DATA`` and the Debian package folder, nothing else: it works offline and never
    downloads. Without ``root`` the test split falls back to the embedded 1,000-image sample when no
    full copy exists (``allow_embedded``).
    """
    files = find_files(split, root)
    if files is not None:
        return _to_dataset(read_idx(files[0]), read_idx(files[1]))
    if split == "test" and allow_embedded:
        return embedded_sample()
    raise FileNotFoundError(HOW_TO_GET)


def find_files(split: str, root: Optional[os.PathLike] = None) -> Optional[Tuple[Path, Path]]:
    """The (images, labels) IDX files :func:`fashion_mnist` reads for ``split``; None when it falls
    back to the embedded sample.

    A ``root`` that is given is the one place looked in: one that does not exist or lacks the
    split's files is an error naming it, as a mistyped --data-dir must not quietly give other data."""
    if split not in _FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    img_stem, lbl_stem = _FILES[split]
    if root is not None and not Path(root).is_dir():
        raise FileNotFoundError(f"data directory not found: {root}")
    for d in [Path(root)] if root is not None else search_dirs(None):
        img, lbl = _find(d, img_stem), _find(d, lbl_stem)
        if img and lbl:
            return img, lbl
    if root is not None:
        raise FileNotFoundError(f"the data directory {root} holds no Fashion-MNIST {split} files: "
                                f"expected {img_stem}[.gz] and {lbl_stem}[.gz] in it or in its FashionMNIST/raw/")
    return None
