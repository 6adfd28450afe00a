"""Classifier checkpoints: plain data (architecture name, kwargs, tensors), written atomically."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Dict, Optional, Union

import torch
from torch import nn

from ..validation import first_line
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
    if path.stat().st_size == 0:
        raise ValueError(f"cannot read checkpoint {path}: the file is empty (0 bytes), e.g. a copy or "
                         "download that did not finish")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file; name the file instead
        raise ValueError(f"cannot read checkpoint {path}: the file is corrupt, truncated or not a "
                         f"PyTorch checkpoint ({first_line(exc)})") from None


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
    _check_contents(path, ckpt)
    state = ckpt["state_dict"]
    channels = state["mean"].numel()
    try:
        net = build_model(ckpt["arch"], **ckpt["arch_kwargs"])
    except (TypeError, ValueError, ImportError) as exc:
        raise ValueError(f"{path}: cannot build architecture {ckpt['arch']!r} with {ckpt['arch_kwargs']}: "
                         f"{first_line(exc)}") from None
    model = Normalized(net, [0.0] * channels, [1.0] * channels)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(f"{path}: weights do not fit architecture {ckpt['arch']!r}: {str(exc)[:300]}") from None
    return model.to(device).eval()


def _check_contents(path: PathLike, ckpt: Dict[str, Any]) -> None:
    """A file may carry the format tag and hold something else (hand-edited, written by another
    tool): name what is missing instead of failing later with ``KeyError: 'mean'``."""
    state = ckpt.get("state_dict")
    problems = [k for k, kind in (("arch", str), ("arch_kwargs", dict), ("state_dict", dict))
                if not isinstance(ckpt.get(k), kind)]
    if isinstance(state, dict):
        problems += [f"state_dict[{k!r}]" for k in ("mean", "std") if not isinstance(state.get(k), torch.Tensor)]
    if problems:
        raise ValueError(f"{path} has the robustgan classifier format tag but not its contents: "
                         f"{', '.join(problems)} missing or of the wrong type; the file is damaged or was "
                         "written by something else")


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
