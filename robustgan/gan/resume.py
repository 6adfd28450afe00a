"""Reading a GAN checkpoint to resume from, and refusing one written by another run."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, Optional

import torch

from .. import distributed
from ..runs import check_resume
from .build import load_checkpoint
from .config import GANConfig


def read_checkpoint(ctx: distributed.DistContext, path: Optional[Path], device: torch.device,
                    loader: Callable[..., Dict[str, Any]] = load_checkpoint) -> Dict[str, Any]:
    """The checkpoint's state on every rank; rank 0 alone reads the run folder (with ``loader``: the
    DCGAN checkpoint reader unless another format's is given, e.g. the translation trainer's)."""
    def read() -> Dict[str, Any]:
        if path is None or not path.exists():
            raise FileNotFoundError(f"resume requested but no checkpoint at {path}")
        return loader(path, map_location="cpu" if ctx.active else device)

    return ctx.main_only(read)


def with_new_defaults(recorded: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """A run identity recorded before a config field existed, with that field at its default (the value
    the old run had in effect), so adding an option does not make every earlier run unresumable."""
    if not recorded or "settings" not in recorded:
        return recorded
    defaults = GANConfig().to_dict()
    return {**recorded, "settings": {**{k: defaults[k] for k in defaults if k not in recorded["settings"]},
                                     **recorded["settings"]}}


def check_same_run(state: Dict[str, Any], cfg: GANConfig, generator_kwargs: Dict[str, Any],
                   identity: Optional[Dict[str, Any]], path: Optional[Path]) -> None:
    """Refuse a checkpoint of other settings, other data or (given ``identity``) another run: resuming
    it would silently continue a different run."""
    if identity is not None:
        check_resume(with_new_defaults(state.get("run")), {**cfg.to_dict(), **identity}, path)
    saved = GANConfig.from_dict(state["config"]).resolved().to_dict()
    differ = sorted(key for key, v in cfg.to_dict().items() if saved[key] != v)
    if differ:
        raise ValueError(f"cannot resume {path}: settings differ from the run that wrote it: "
                         + ", ".join(f"{key} ({saved[key]!r} → {cfg.to_dict()[key]!r})" for key in differ))
    if state["generator_kwargs"] != generator_kwargs:
        raise ValueError(f"cannot resume {path}: it was trained on data of another shape or class count")
