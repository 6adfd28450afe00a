"""Texture synthesis (Gatys, Ecker & Bethge 2015): an image with the source's Gram matrices, from noise.

A texture is summarised by the Gram matrices of a network's feature maps over a set of layers;
synthesis minimises the Gram loss of a noise image with :func:`robustgan.optim.optimize`, with
SciPy's L-BFGS-B (the paper's choice) or Adam. The feature network is pluggable; the default is
the random multi-scale CNN of Ustyuzhaninov et al. (2016), which needs no trained weights.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from ..objectives import GramLoss, Objective, gram
from ..optim import evaluate_objective, LBFGSB, Adam, Box, optimize
from ..validation import check_images
from .feature_nets import DEFAULT_NETWORK, in_channels_of, load_feature_network, match_channels, resolve_layers
from .layers import features_of

Network = Union[str, nn.Module]
OPTIMIZERS = ("lbfgs", "adam")


@dataclass
class TextureResult:
    """Synthesised textures with the Gram loss at the start and the end (per sample and per layer)."""

    x: Tensor
    layers: List[str]
    loss_start: Tensor
    loss_end: Tensor
    per_layer_start: Dict[str, float] = field(default_factory=dict)
    per_layer_end: Dict[str, float] = field(default_factory=dict)
    trace: List[float] = field(default_factory=list)

    def summary(self) -> Dict[str, Any]:
        return {"layers": self.layers, "gram_loss_start": self.loss_start.tolist(),
                "gram_loss_end": self.loss_end.tolist(),
                "reduction": (self.loss_start / self.loss_end.clamp_min(1e-30)).tolist(),
                "per_layer_start": self.per_layer_start, "per_layer_end": self.per_layer_end}


def prepare_network(network: Network, layers: Optional[Sequence[str]], channels: int, seed: int,
                    device) -> Tuple[nn.Module, List[str]]:
    """The feature network (loaded by name/path, or as given) on ``device`` and the layers to use."""
    net, default = load_feature_network(network, in_channels=channels, seed=seed, device=device)
    return net, resolve_layers(net, layers, default)


def gram_targets(net: nn.Module, image: Tensor, layers: Sequence[str]) -> Dict[str, Tensor]:
    """The Gram matrices of ``image`` (one image) at ``layers``: A_l of shape (1, C, C)."""
    feats = features_of(net, image, layers)
    return {name: gram(f) for name, f in feats.items()}


def step_rule(optimizer: str, step_size: float):
    if optimizer == "lbfgs":
        return LBFGSB()
    if optimizer == "adam":
        return Adam(step_size)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")


def evaluate(net: nn.Module, x: Tensor, objective: Objective) -> Tensor:
    """The objective's value per image, as the optimiser computes it."""
    return evaluate_objective(net, x, objective)


def per_layer(net: nn.Module, x: Tensor, loss: GramLoss) -> Dict[str, float]:
    """Mean weighted Gram loss of each layer for images ``x``."""
    return {name: float(evaluate(net, x, loss.weights[name] * GramLoss({name: a}, relative=loss.relative)).mean())
            for name, a in loss.targets.items()}


def synthesize_texture(source: Tensor, *, network: Network = DEFAULT_NETWORK, layers: Optional[Sequence[str]] = None,
                       size: Optional[Tuple[int, int]] = None, n: int = 1, steps: int = 300,
                       optimizer: str = "lbfgs", step_size: float = 0.02, seed: int = 0,
                       progress: bool = False) -> TextureResult:
    """``n`` textures of ``size`` (default: the source's) matching the Gram matrices of ``source``.

    Args:
        source: one image (1, C, H, W) or (C, H, W) in [0, 1].
        network: 'random-multiscale' (default), 'default-classifier', 'timm:<name>', a checkpoint
            path, or an ``nn.Module``; layers default to the network's own choice.
        optimizer: 'lbfgs' (SciPy L-BFGS-B with the [0, 1] box; ``steps`` = iterations) or 'adam'.
    The start is uniform noise drawn from ``seed``.
    """
    source = source.unsqueeze(0) if source.dim() == 3 else source
    check_images(source, "source")
    if source.shape[0] != 1:
        raise ValueError("source must be one image")
    if n < 1 or steps < 0:
        raise ValueError("n must be >= 1 and steps >= 0")
    device = source.device
    net, layers = prepare_network(network, layers, source.shape[1], seed, device)
    source = match_channels(source, in_channels_of(net))
    h, w = size if size is not None else source.shape[-2:]
    loss = GramLoss(gram_targets(net, source, layers), relative=True)
    gen = torch.Generator().manual_seed(seed)
    start = torch.rand((n, source.shape[1], h, w), generator=gen).to(device, source.dtype)
    before = evaluate(net, start, loss)
    start_layers = per_layer(net, start, loss)
    res = optimize(net, start, loss, step=step_rule(optimizer, step_size), steps=steps, constraint=Box(0, 1),
                   progress=progress, desc=f"texture ({optimizer})")
    return TextureResult(res.x, list(layers), before, res.loss, start_layers, per_layer(net, res.x, loss), res.trace)
