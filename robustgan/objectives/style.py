"""Gatys et al. (2015, 2016): texture as Gram matrices of feature maps, matched over a set of layers."""
from __future__ import annotations

from typing import Dict, Mapping, Optional

import torch
from torch import Tensor

from .base import Objective
from .features import layer_output


def gram(features: Tensor) -> Tensor:
    """G = F·Fᵀ / M for feature maps (N, C, H, W), M = H·W: channel co-activation averaged over positions.

    Dividing by M makes the statistic independent of the image size, so a texture can be
    synthesised at any size from a source of another size.
    """
    if features.dim() != 4:
        raise ValueError(f"a Gram matrix needs feature maps (N, C, H, W), got shape {tuple(features.shape)}")
    n, c = features.shape[:2]
    f = features.reshape(n, c, -1)
    return f @ f.transpose(1, 2) / f.shape[2]


def gram_distance(g: Tensor, target: Tensor) -> Tensor:
    """Gatys' E_l = Σ(G − A)² / (4·N_l²) per row (with G already divided by M_l)."""
    c = g.shape[1]
    d = (g - target).reshape(g.shape[0], -1)
    return (d * d).sum(1) / (4.0 * c * c)


class GramLoss(Objective):
    """Σ_l w_l·E_l: the texture loss. ``targets[layer]`` is A_l, shared ``(1, C, C)`` or one per sample.

    ``weights`` default to 1/L each. With ``relative=True`` each E_l is divided by its value at
    G = 0 (‖A_l‖²/4N_l²), so every layer contributes on the same scale and a weight against
    another loss (content) does not depend on the feature network's activation magnitudes.
    """

    def __init__(self, targets: Mapping[str, Tensor], weights: Optional[Mapping[str, float]] = None,
                 relative: bool = False):
        if not targets:
            raise ValueError("GramLoss needs at least one layer")
        self.targets: Dict[str, Tensor] = {k: v.detach() for k, v in targets.items()}
        for name, a in self.targets.items():
            if a.dim() != 3 or a.shape[1] != a.shape[2]:
                raise ValueError(f"target Gram matrix of {name!r} must have shape (N, C, C), got {tuple(a.shape)}")
        self.weights = {k: 1.0 / len(self.targets) for k in self.targets} if weights is None else dict(weights)
        unknown = set(self.weights) - set(self.targets)
        if unknown:
            raise ValueError(f"weights for layers without a target: {sorted(unknown)}")
        self.layers = frozenset(self.targets)
        self.relative = bool(relative)

    def per_layer(self, ev) -> Dict[str, Tensor]:
        out = {}
        for name, a in self.targets.items():
            g = gram(layer_output(ev, name))
            a = a.to(g.device, g.dtype)
            a = a.expand(g.shape[0], -1, -1) if a.shape[0] == 1 else a[ev.samples]
            e = gram_distance(g, a)
            out[name] = e / gram_distance(torch.zeros_like(a), a).clamp_min(1e-30) if self.relative else e
        return out

    def __call__(self, ev) -> Tensor:
        return sum(self.weights.get(k, 0.0) * v for k, v in self.per_layer(ev).items())

    def __repr__(self):
        return f"Gram({', '.join(sorted(self.targets))})"
