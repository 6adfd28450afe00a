"""Load a classifier to evaluate from wherever it lives: a robustgan checkpoint, a TorchScript
export, or a state dict for a zoo / timm architecture named by the user.

Every path reads weights with ``weights_only=True`` (TorchScript archives hold code by design: they
are loaded with ``torch.jit.load``, which does not unpickle arbitrary objects).
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Optional, Sequence, Union

import torch
from torch import nn

from ..validation import first_line
from .checkpoint import FORMAT, load_classifier, safe_load
from .normalized import Normalized
from .zoo import build_model


def is_torchscript(path: Union[str, Path]) -> bool:
    """TorchScript archives are zip files with a ``code/`` folder."""
    try:
        with zipfile.ZipFile(path) as z:
            return any("/code/" in n or n.startswith("code/") for n in z.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _load_torchscript(path: Path, device: Union[str, torch.device]) -> nn.Module:
    """``torch.jit.load``, where a zip that only looks like TorchScript (a ``code/`` folder, but no
    valid archive) fails with a sentence naming the file instead of a C++ traceback."""
    try:
        return torch.jit.load(str(path), map_location=device).eval()
    except Exception as exc:  # RuntimeError from the C++ reader, or anything the archive's code raises
        raise ValueError(f"cannot read {path} as TorchScript: the zip has a code/ folder but is not a valid "
                         f"torch.jit.save archive ({first_line(exc)})") from None


def load_model(checkpoint: Optional[Union[str, Path]] = None, arch: Optional[str] = None,
               device: Union[str, torch.device] = "cpu", mean: Optional[Sequence[float]] = None,
               std: Optional[Sequence[float]] = None, **arch_kwargs) -> nn.Module:
    """The model to evaluate, in eval mode on ``device``.

    - ``checkpoint`` alone: a robustgan classifier checkpoint or a TorchScript file.
    - ``arch`` (``small-cnn``, ``small-resnet``, ``timm:<name>``) with ``checkpoint`` a state dict
      (or a dict holding one under ``state_dict``/``model``): the architecture is built with
      ``pretrained=False`` and the weights loaded; ``mean``/``std`` put input normalisation inside.
    """
    if checkpoint is None and arch is None:
        raise ValueError("give a checkpoint, an architecture, or both")
    if arch is None and (mean is not None or std is not None):  # a saved model carries its own normalisation
        raise ValueError("--mean/--std set the normalisation of a plain state dict: give them with --arch")
    if arch is None:
        path = Path(checkpoint)
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint not found: {path}")
        if is_torchscript(path):
            return _load_torchscript(path, device)
        ckpt = safe_load(path)
        if isinstance(ckpt, dict) and ckpt.get("format") == FORMAT:
            return load_classifier(path, device)
        raise ValueError(f"{path} is neither a robustgan classifier nor a TorchScript file; for a plain "
                         f"state dict name its architecture (--arch small-cnn | small-resnet | timm:<name>)")
    net = build_model(arch, **arch_kwargs)
    channels = arch_kwargs.get("in_channels", 3 if arch.startswith("timm:") else 1)
    model = Normalized(net, list(mean or [0.0] * channels), list(std or [1.0] * channels))
    if checkpoint is not None:
        state = safe_load(checkpoint)
        if isinstance(state, dict):
            state = state.get("state_dict", state.get("model", state))
        try:
            net.load_state_dict(state)
        except RuntimeError as exc:
            raise ValueError(f"{checkpoint}: weights do not fit {arch!r}: {str(exc)[:300]}") from None
    return model.to(device).eval()
