"""Feed-forward against optimisation-based style transfer: seconds per image and the losses reached.

Both are scored by the same :class:`~.style_network.StyleObjective` (the normalised content and Gram
losses of :func:`~.style.style_transfer`), so the numbers say what one forward pass buys against a
per-image optimisation of the very objective the network was trained on.
"""
from __future__ import annotations

import time
from typing import Any, Dict

import torch
from torch import Tensor

from .style import style_transfer
from .style_network import StyleObjective, TransformNet, stylize


def _scores(objective: StyleObjective, x: Tensor, content: Tensor) -> Dict[str, float]:
    with torch.no_grad():
        c, s = objective.terms(x, content)
    return {"content_loss": float(c.mean()), "style_loss": float(s.mean()),
            "loss": float((objective.content_weight * c + objective.style_weight * s).mean())}


def compare_style_transfer(net: TransformNet, objective: StyleObjective, content: Tensor, style: Tensor, *,
                           steps: int = 100, optimizer: str = "lbfgs", step_size: float = 0.02,
                           seed: int = 0) -> Dict[str, Any]:
    """Stylise ``content`` (N, C, H, W) with ``net`` (one batched pass) and with ``style_transfer``
    (one optimisation per image, started from the content, ``steps`` iterations): per method the
    seconds per image and the mean content, style and combined losses under ``objective``."""
    style = style.unsqueeze(0) if style.dim() == 3 else style
    t0 = time.perf_counter()
    fast = stylize(net, content)
    t_fast = (time.perf_counter() - t0) / content.shape[0]
    t0 = time.perf_counter()
    slow = torch.cat([style_transfer(content[i:i + 1], style, network=objective.net,
                                     style_layers=objective.style_layers, content_layers=objective.content_layers,
                                     content_weight=objective.content_weight, style_weight=objective.style_weight,
                                     steps=steps, optimizer=optimizer, step_size=step_size, seed=seed).x
                      for i in range(content.shape[0])])
    t_slow = (time.perf_counter() - t0) / content.shape[0]
    return {"images": int(content.shape[0]), "optimisation_steps": steps,
            "feed_forward": {"seconds_per_image": t_fast, **_scores(objective, fast, content)},
            "optimisation": {"seconds_per_image": t_slow, **_scores(objective, slow, content)},
            "content_start": _scores(objective, content, content),
            "speedup": t_slow / max(t_fast, 1e-12)}
