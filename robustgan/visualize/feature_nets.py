"""Feature networks for texture and style: a random multi-scale CNN by default, or any user network.

Ustyuzhaninov et al. (2016) showed that a single layer of *random* filters at several sizes,
followed by a ReLU, already gives Gram statistics good enough for texture synthesis. That makes
a default that needs no download and no training. Any classifier checkpoint of this library, or a
timm architecture by name (built with ``pretrained=False``; load your own weights), plugs in too.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from .layers import activation_layers, spread

DEFAULT_NETWORK = "random-multiscale"


class RandomMultiScaleCNN(nn.Module):
    """One layer of random filters at several sizes (one branch per size), each followed by a ReLU.

    The branches are named ``branches.k<size>``: tap them for Gram matrices. Weights are drawn
    N(0, 1/fan_in) from ``seed`` (same seed, same network) and the input is centred at 0.5, so the
    ReLUs see contrast around mid-grey. The forward returns each channel's spatial mean
    (so the module behaves like any network with an output).
    """

    def __init__(self, in_channels: int = 3, sizes: Sequence[int] = (3, 5, 7, 11, 15, 23),
                 filters: int = 64, seed: int = 0):
        super().__init__()
        sizes = [int(k) for k in sizes]
        if not sizes or any(k < 1 or k % 2 == 0 for k in sizes):
            raise ValueError(f"filter sizes must be odd positive ints, got {sizes}")
        if filters < 1 or in_channels < 1:
            raise ValueError("filters and in_channels must be >= 1")
        gen = torch.Generator().manual_seed(seed)
        self.branches = nn.ModuleDict()
        for k in sizes:
            conv = nn.Conv2d(in_channels, filters, k, padding=k // 2, padding_mode="reflect", bias=False)
            with torch.no_grad():
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen) / (in_channels * k * k) ** 0.5)
            self.branches[f"k{k}"] = nn.Sequential(conv, nn.ReLU())
        self.in_channels = in_channels
        for p in self.parameters():
            p.requires_grad_(False)

    @property
    def layer_names(self) -> List[str]:
        return [f"branches.{k}" for k in self.branches]

    def forward(self, x: Tensor) -> Tensor:
        x = x - 0.5
        return torch.cat([b(x).mean(dim=(2, 3)) for b in self.branches.values()], dim=1)


def in_channels_of(net: nn.Module) -> int:
    """Input channels of a network: its first convolution's, or an ``in_channels`` attribute."""
    if hasattr(net, "in_channels") and isinstance(net.in_channels, int):
        return net.in_channels
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            return m.in_channels
    raise ValueError("cannot tell how many input channels the feature network takes")


def match_channels(x: Tensor, channels: int) -> Tensor:
    """Give images the network's channel count: RGB → luminance, grey → repeated."""
    if x.shape[1] == channels:
        return x
    if x.shape[1] == 3 and channels == 1:
        w = torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype).reshape(1, 3, 1, 1)
        return (x * w).sum(1, keepdim=True)
    if x.shape[1] == 1:
        return x.expand(-1, channels, -1, -1).contiguous()
    raise ValueError(f"cannot feed {x.shape[1]}-channel images to a network that takes {channels} channels")


def load_feature_network(spec: Union[str, os.PathLike, nn.Module] = DEFAULT_NETWORK, *, in_channels: int = 3,
                         seed: int = 0, device: Union[str, torch.device] = "cpu",
                         example_size: int = 64, max_layers: int = 5) -> Tuple[nn.Module, List[str]]:
    """A feature network and its default Gram layers.

    ``spec``: 'random-multiscale' (default), 'default-classifier' (the shipped Fashion-MNIST CNN),
    'timm:<name>' (random weights), a path to a classifier checkpoint, or an ``nn.Module``. The
    default layers of a user network are up to ``max_layers`` activations spread from shallow to
    deep among those that give feature maps.
    """
    from ..models import build_model, load_classifier
    from ..models.default import default_checkpoint_path

    if isinstance(spec, RandomMultiScaleCNN):
        return spec, spec.layer_names
    if isinstance(spec, nn.Module):  # the caller's network: used as is (optimize freezes it temporarily)
        net = spec
        device = next((p.device for p in net.parameters()), torch.device(device))
    elif str(spec) == DEFAULT_NETWORK:
        net = RandomMultiScaleCNN(in_channels=in_channels, seed=seed)
        return net.to(device).eval(), net.layer_names
    elif str(spec) == "default-classifier":
        net = load_classifier(default_checkpoint_path(), device=device)
    elif str(spec).startswith("timm:"):
        torch.manual_seed(seed)  # timm initialises through the global generator
        net = build_model(str(spec), in_channels=in_channels).to(device).eval()
    elif Path(spec).suffix in (".pt", ".pth") or Path(spec).exists():
        net = load_classifier(spec, device=device)
    else:
        raise ValueError(f"unknown feature network {spec!r}: use '{DEFAULT_NETWORK}', 'default-classifier', "
                         f"'timm:<name>' or a checkpoint path")
    c = in_channels_of(net)
    example = torch.rand(1, c, example_size, example_size, device=device)
    try:
        layers = spread(activation_layers(net, example, spatial=True), max_layers)
    except RuntimeError:  # fixed input size: probe at the size the network was trained on
        example = torch.rand(1, c, 28, 28, device=device)
        layers = spread(activation_layers(net, example, spatial=True), max_layers)
    if not layers:
        raise ValueError("the feature network has no layer that gives feature maps; pass layers explicitly")
    return net, layers


def resolve_layers(net: nn.Module, layers: Optional[Sequence[str]], default: Sequence[str]) -> List[str]:
    """User layers (checked against the network) or the default ones."""
    if not layers:
        return list(default)
    named = dict(net.named_modules())
    missing = [n for n in layers if n not in named]
    if missing:
        valid = ", ".join(n for n in named if n)
        raise ValueError(f"unknown layer(s) {missing}; the network's layers are: {valid}")
    return list(layers)
