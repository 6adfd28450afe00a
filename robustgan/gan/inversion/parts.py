"""An inversion's result as plain data and back: what a work unit saves, and the units put together again.

Latent, image-conditioned and mixed inversions alike, so the run folder of ``invert`` and
``attribute`` resumes whichever generators it compares (a unit saved before image-conditioned
generators existed holds ``latents`` and reads as a latent inversion).
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Sequence, Tuple

import torch
from torch import Tensor

from .invert import LatentInversion
from .mixed import LATENT, SOURCE, Inversion, MixedInversion
from .source import SourceInversion


def pack(result: Inversion) -> Dict[str, Any]:
    """The result as a dict of tensors, lists and numbers (loadable with ``weights_only=True``)."""
    out: Dict[str, Any] = {"reconstructions": result.reconstructions, "residuals": result.residuals,
                           "loss": result.loss, "redrawn": result.redrawn, "steps": result.steps,
                           "restarts": result.restarts}
    if isinstance(result, LatentInversion):
        out["latents"], out["space"] = result.latents, result.space
    elif isinstance(result, SourceInversion):
        out["sources"] = list(result.sources)
    else:
        out.update(variables=list(result.variables), kinds=list(result.kinds))
    return out


def merge(parts: Sequence[Mapping[str, Any]]) -> Inversion:
    """One inversion of the units' packed results, images in unit order."""
    def cat(key: str) -> Tensor:
        return torch.cat([p[key] for p in parts], dim=1)

    first = parts[0]
    common = (cat("reconstructions"), cat("residuals"), cat("loss"), int(first["steps"]), int(first["restarts"]),
              sum(int(p["redrawn"]) for p in parts))
    if "latents" in first:
        return LatentInversion(cat("latents"), *common, str(first.get("space", "z")))
    key = "sources" if "sources" in first else "variables"
    per = [torch.cat([p[key][k] for p in parts]) for k in range(len(first[key]))]
    if key == "sources":
        return SourceInversion(per, *common)
    return MixedInversion(per, list(first["kinds"]), *common)


def variables(result: Inversion) -> Tuple[List[Tensor], List[str]]:
    """Per generator the kept input (latents (M, D) or sources (M, *shape)) and its kind."""
    if isinstance(result, LatentInversion):
        return list(result.latents), [LATENT] * result.latents.shape[0]
    if isinstance(result, SourceInversion):
        return list(result.sources), [SOURCE] * len(result.sources)
    return list(result.variables), list(result.kinds)


__all__ = ["merge", "pack", "variables"]
