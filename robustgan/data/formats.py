"""Image datasets in the formats other tools read, written and read back.

- ``npz``: float32 images (N, C, H, W), int64 labels, any per-example columns, the class names;
  lossless.
- ``png``: an image-folder tree, one 8-bit PNG per example in one sub-folder per class, named
  ``<label>-<class>`` so that torchvision's ``ImageFolder`` (sorted folder names) gives back the
  same label numbers; ``load_dataset("folder:<path>")`` reads it.
- ``hf``: a Hugging Face ``datasets`` dataset saved to disk (``image``: 8-bit PNG, ``label``: a
  ``ClassLabel``, plus the per-example columns); ``datasets.load_from_disk`` reads it anywhere.

The two 8-bit formats store :func:`quantize`'d pixels; a round trip gives those values exactly.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import TensorDataset

FORMATS = {"npz": "NumPy archive, float32, lossless", "png": "image folder of 8-bit PNGs, one sub-folder per class",
           "hf": "Hugging Face datasets dataset (save_to_disk), 8-bit PNG images"}
EIGHT_BIT = frozenset({"png", "hf"})


def quantize(x: Tensor, levels: int = 255) -> Tensor:
    """What an 8-bit format stores: the nearest of the ``levels`` + 1 grey levels k/levels in [0, 1]."""
    return (x.clamp(0, 1) * levels).round() / levels


def _to_uint8(x: Tensor) -> np.ndarray:
    """(C, H, W) in [0, 1] → (H, W) or (H, W, C) bytes, as PIL wants them."""
    a = (x.clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()
    return a[0] if a.shape[0] == 1 else np.transpose(a, (1, 2, 0))


def _from_uint8(a: np.ndarray) -> Tensor:
    t = torch.from_numpy(np.asarray(a, dtype=np.uint8).copy())
    t = t[None] if t.dim() == 2 else t.permute(2, 0, 1)
    return t.float() / 255


def folder_name(label: int, classes: Sequence[str]) -> str:
    """``03-Dress``: the zero-padded label first, so sorted folder names keep the label order."""
    width = len(str(max(len(classes) - 1, 0)))
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", str(classes[label])).strip("_") or "class"
    return f"{label:0{width}d}-{slug}"


def _check(x: Tensor, y: Tensor, classes: Sequence[str]) -> None:
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"images must be (N, 1 or 3, H, W), got shape {tuple(x.shape)}")
    if y.shape != (x.shape[0],):
        raise ValueError(f"labels must be one per image ({x.shape[0]}), got shape {tuple(y.shape)}")
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= len(classes)):
        raise ValueError(f"labels must lie in [0, {len(classes) - 1}] for the {len(classes)} class names")


def write_dataset(x: Tensor, y: Tensor, out: Path, fmt: str, classes: Sequence[str],
                  columns: Optional[Dict[str, Tensor]] = None, info: Optional[dict] = None) -> Path:
    """Write images ``x`` (N, C, H, W) in [0, 1] with labels ``y`` to ``out`` in ``fmt``.

    ``columns``: per-example tensors kept beside (npz, hf; the png tree keeps a ``columns.npz``).
    ``info``: a JSON-able description stored with the data (the crafting manifest)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {sorted(FORMATS)}")
    out, columns, y = Path(out), dict(columns or {}), y.long().cpu()
    x = x.detach().cpu().float()
    _check(x, y, classes)
    meta = json.dumps({"classes": list(map(str, classes)), "info": info or {}})
    if fmt == "npz":
        out.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"column_{k}": v.cpu().numpy() for k, v in columns.items()}
        np.savez_compressed(out, x=x.numpy(), y=y.numpy(), meta=np.array(meta), **arrays)
        return out if out.suffix == ".npz" else out.with_name(out.name + ".npz")
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} exists and is not empty; choose a new folder")
    if fmt == "png":
        from PIL import Image

        for k in range(len(classes)):
            (out / folder_name(k, classes)).mkdir(parents=True, exist_ok=True)
        index = columns.get("index", torch.arange(len(y)))
        for i in range(len(y)):
            Image.fromarray(_to_uint8(x[i])).save(out / folder_name(int(y[i]), classes) / f"{int(index[i]):06d}.png")
        np.savez(out / "columns.npz", meta=np.array(meta), **{k: v.cpu().numpy() for k, v in columns.items()})
        return out
    return _write_hf(x, y, out, classes, columns, meta)


def _write_hf(x, y, out: Path, classes, columns, meta) -> Path:
    datasets = _import_datasets()
    from PIL import Image

    features = {"image": datasets.Image(), "label": datasets.ClassLabel(names=list(map(str, classes)))}
    data = {"image": [Image.fromarray(_to_uint8(img)) for img in x], "label": y.tolist()}
    for k, v in columns.items():
        v = v.cpu()
        features[k] = datasets.ClassLabel(names=list(map(str, classes))) if k == "target" else \
            datasets.Value("bool" if v.dtype == torch.bool else "float32" if v.is_floating_point() else "int64")
        data[k] = v.tolist()
    ds = datasets.Dataset.from_dict(data, features=datasets.Features(features))
    ds.info.description = meta
    ds.save_to_disk(str(out))
    return out


def _import_datasets():
    try:
        import datasets
    except ImportError:
        raise ImportError("the hf format needs the Hugging Face `datasets` package: "
                          "pip install 'robustgan[export]'") from None
    return datasets


def read_npz(path: Path) -> tuple:
    """``(TensorDataset(x, y), class names, columns)`` of an npz written by :func:`write_dataset`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"npz dataset not found: {path}")
    with np.load(path, allow_pickle=False) as z:
        if "x" not in z or "y" not in z:
            raise ValueError(f"{path}: an npz dataset needs arrays 'x' (N, C, H, W) and 'y' (N,)")
        x, y = torch.from_numpy(z["x"]).float(), torch.from_numpy(z["y"]).long()
        meta = json.loads(str(z["meta"])) if "meta" in z else {}
        columns = {k[len("column_"):]: torch.from_numpy(z[k]) for k in z.files if k.startswith("column_")}
    if x.dim() == 3:  # (N, H, W): one grey channel
        x = x[:, None]
    classes = meta.get("classes") or [str(k) for k in range(int(y.max()) + 1 if len(y) else 0)]
    _check(x, y, classes)
    return TensorDataset(x, y), classes, columns


def read_hf(path: Path) -> tuple:
    """``(TensorDataset(x, y), class names, columns)`` of a dataset saved by ``save_to_disk``
    (an ``image`` and a ``label`` column; other scalar columns come back as tensors)."""
    datasets = _import_datasets()
    if not Path(path).is_dir():
        raise FileNotFoundError(f"Hugging Face dataset folder not found: {path}")
    ds = datasets.load_from_disk(str(path))
    if isinstance(ds, datasets.DatasetDict):
        raise ValueError(f"{path} holds several splits ({', '.join(ds)}); point at one split's folder")
    missing = {"image", "label"} - set(ds.column_names)
    if missing:
        raise ValueError(f"{path}: a dataset needs 'image' and 'label' columns (missing {sorted(missing)})")
    images = [np.asarray(img) for img in ds["image"]]
    x = torch.stack([_from_uint8(a) for a in images]) if images else torch.zeros(0, 1, 1, 1)
    y = torch.as_tensor(ds["label"], dtype=torch.long)
    label = ds.features["label"]
    classes = list(label.names) if hasattr(label, "names") else [str(k) for k in range(int(y.max()) + 1)]
    columns = {k: torch.as_tensor(ds[k]) for k in ds.column_names if k not in ("image", "label")}
    return TensorDataset(x, y), classes, columns


__all__ = ["EIGHT_BIT", "FORMATS", "folder_name", "quantize", "read_hf", "read_npz", "write_dataset"]
