"""Neural style transfer (Gatys, Ecker & Bethge 2016): the content of one image in the texture of another.

Minimise  α·Σ_c ‖Φ_c(x) − Φ_c(content)‖²/‖Φ_c(content)‖²  +  β·(relative Gram loss against the style)
(+ an optional TV² prior), from the content image or from noise, with L-BFGS-B or Adam, as one run
of :func:`robustgan.optim.optimize`. Both terms are normalised, so α and β are comparable across
feature networks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import torch
from torch import Tensor

from ..objectives import FeatureMatch, GramLoss, Objective, TotalVariation, mahendran_normalizers
from ..optim import Box, optimize
from ..validation import check_images
from .feature_nets import DEFAULT_NETWORK, in_channels_of, match_channels, resolve_layers
from .layers import features_of
from .texture import Network, evaluate, gram_targets, prepare_network, step_rule


@dataclass
class StyleResult:
    """The stylised image with the content and style losses at the start and the end."""

    x: Tensor
    content_layers: List[str]
    style_layers: List[str]
    content_loss: Dict[str, float] = field(default_factory=dict)
    style_loss: Dict[str, float] = field(default_factory=dict)
    trace: List[float] = field(default_factory=list)

    def summary(self) -> Dict[str, Any]:
        return {"content_layers": self.content_layers, "style_layers": self.style_layers,
                "content_loss": self.content_loss, "style_loss": self.style_loss}


def _content_loss(layers: Sequence[str], targets: Dict[str, Tensor]) -> Objective:
    terms = [FeatureMatch(name, targets[name]) for name in layers]
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return (1.0 / len(terms)) * total


def style_transfer(content: Tensor, style: Tensor, *, network: Network = DEFAULT_NETWORK,
                   style_layers: Optional[Sequence[str]] = None, content_layers: Optional[Sequence[str]] = None,
                   content_weight: float = 1.0, style_weight: float = 10.0, tv: float = 0.0, steps: int = 300,
                   optimizer: str = "lbfgs", step_size: float = 0.02, start: str = "content", seed: int = 0,
                   progress: bool = False) -> StyleResult:
    """Render ``content`` (1, C, H, W) in the style of ``style`` (one image of any size).

    ``content_layers`` default to the first of the style layers (the shallowest, which keeps
    the layout); ``start`` is 'content' or 'noise' (uniform, from ``seed``).
    """
    content = content.unsqueeze(0) if content.dim() == 3 else content
    style = style.unsqueeze(0) if style.dim() == 3 else style
    check_images(content, "content")
    check_images(style, "style")
    if content.shape[0] != 1 or style.shape[0] != 1:
        raise ValueError("content and style must be one image each")
    if content_weight < 0 or style_weight < 0 or tv < 0:
        raise ValueError("weights must be >= 0")
    if start not in ("content", "noise"):
        raise ValueError(f"start must be 'content' or 'noise', got {start!r}")
    device = content.device
    net, style_layers = prepare_network(network, style_layers, content.shape[1], seed, device)
    content_layers = resolve_layers(net, content_layers, list(style_layers)[:1])
    channels = in_channels_of(net)
    content, style = match_channels(content, channels), match_channels(style.to(device), channels)
    gram_loss = GramLoss(gram_targets(net, style, style_layers), relative=True)
    content_loss = _content_loss(content_layers, features_of(net, content, content_layers))
    objective = content_weight * content_loss + style_weight * gram_loss
    if tv:
        objective = objective + tv * TotalVariation(2.0, mahendran_normalizers(content.shape, 1.0, 2.0)[1])
    if start == "content":
        x0 = content.clone()
    else:
        x0 = torch.rand(content.shape, generator=torch.Generator().manual_seed(seed)).to(device, content.dtype)
    c0, s0 = evaluate(net, x0, content_loss), evaluate(net, x0, gram_loss)
    res = optimize(net, x0, objective, step=step_rule(optimizer, step_size), steps=steps, constraint=Box(0, 1),
                   progress=progress, desc=f"style ({optimizer})")
    c1, s1 = evaluate(net, res.x, content_loss), evaluate(net, res.x, gram_loss)
    return StyleResult(res.x, list(content_layers), list(style_layers),
                       {"start": float(c0), "end": float(c1)}, {"start": float(s0), "end": float(s1)}, res.trace)
