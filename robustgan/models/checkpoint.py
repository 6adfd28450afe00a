"""Classifier checkpoints: plain data (architecture name, kwargs, tensors), written atomically."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Dict, Optional, Union

import torch
from torch import nn

from .normalized import Normalized
from .zoo import build_model

FORMAT = "robustgan-classifier/1"
PathLike = Union[str, os.PathLike]


def atomic_save(obj: Any, path: PathLike) -> None:
    """Write to a temporary file in the same folder, then rename: a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def safe_load(path: PathLike, map_location: Any = "cpu") -> Any:
    """``torch.load(weights_only=True)`` with errors that say what is wrong with the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file; name the file instead
        raise ValueError(f"cannot read checkpoint {path}: the file is corrupt, truncated or not a "
                         f"PyTorch checkpoint ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None


def save_classifier(path: PathLike, model: Normalized, arch: str, arch_kwargs: Dict[str, Any],
                    meta: Optional[Dict[str, Any]] = None) -> None:
    if not isinstance(model, Normalized):
        raise TypeError("save_classifier expects a Normalized model (normalisation travels with the weights)")
    atomic_save({
        "format": FORMAT,
        "arch": arch,
        "arch_kwargs": dict(arch_kwargs),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "meta": dict(meta or {}),
    }, path)


def load_classifier(path: PathLike, device: Union[str, torch.device] = "cpu") -> Normalized:
    """Rebuild a classifier saved by :func:`save_classifier`, in eval mode on ``device``."""
    ckpt = safe_load(path)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ValueError(f"{path} is not a robustgan classifier checkpoint (expected format {FORMAT!r})")
    state = ckpt["state_dict"]
    channels = state["mean"].numel()
    model = Normalized(build_model(ckpt["arch"], **ckpt["arch_kwargs"]), [0.0] * channels, [1.0] * channels)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(f"{path}: weights do not fit architecture {ckpt['arch']!r}: {str(exc)[:300]}") from None
    return model.to(device).eval()


def checkpoint_meta(path: PathLike) -> Dict[str, Any]:
    return dict(safe_load(path).get("meta", {}))


def model_fingerprint(model: nn.Module) -> str:
    """A short hash of the weights, recorded in reports so results name the exact model."""
    import hashlib

    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]
