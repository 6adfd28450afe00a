"""Feed-forward style transfer (Johnson, Alahi & Fei-Fei 2016): a network that stylises in one pass.

Optimisation-based transfer (:mod:`.style`) solves one optimisation per image. Johnson et al. train
an image-transformation network T once, on many content images, to minimise the *same* perceptual
objective — content feature matching plus the Gram (style) loss of one style image — so that
T(content) is the stylised image at the cost of a forward pass. :class:`StyleObjective` holds that
objective, built from this library's ``FeatureMatch`` and ``GramLoss`` on the same feature networks
``robustgan style`` uses; training lives in :mod:`.style_network_train`.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from ..objectives import GramLoss, Objective
from ..optim import frozen, tapped
from ..optim.state import Evaluation
from .feature_nets import DEFAULT_NETWORK, in_channels_of, match_channels, resolve_layers
from .layers import features_of
from .style import _content_loss
from .texture import Network, gram_targets, prepare_network

# the style image `robustgan style` uses by default: the dahlia's petals of scikit-learn's flower photo
DEFAULT_STYLE = "flower"
DEFAULT_STYLE_CROP = (110, 190, 220, 220)
DEFAULT_STYLE_SIZE = 96


def default_style_image() -> Tensor:
    """The default style image of ``robustgan style`` (1, 3, H, W) in [0, 1]."""
    from .images import load_image

    return load_image(DEFAULT_STYLE, size=DEFAULT_STYLE_SIZE, crop=DEFAULT_STYLE_CROP)


class _Residual(nn.Module):
    """conv-IN-ReLU-conv-IN plus the input (Johnson et al.'s residual block, without the crop)."""

    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, padding_mode="reflect"), nn.InstanceNorm2d(c, affine=True),
                                  nn.ReLU(), nn.Conv2d(c, c, 3, padding=1, padding_mode="reflect"),
                                  nn.InstanceNorm2d(c, affine=True))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def _conv(a: int, b: int, k: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(a, b, k, stride, k // 2, padding_mode="reflect"), nn.InstanceNorm2d(b, affine=True),
                         nn.ReLU())


class TransformNet(nn.Module):
    """Images (N, C, H, W) in [0, 1] (H, W even) → stylised images of the same shape in [0, 1].

    A small version of Johnson et al.'s network for 28–32 px images: a 5×5 conv, one stride-2
    downsampling, ``blocks`` residual blocks, nearest upsampling and a 5×5 conv to a sigmoid, with
    instance normalisation (Ulyanov et al. 2016) throughout.
    """

    def __init__(self, channels: int = 1, width: int = 16, blocks: int = 3):
        super().__init__()
        if channels < 1 or width < 1 or blocks < 0:
            raise ValueError("channels and width must be >= 1 and blocks >= 0")
        self.channels, self.width, self.blocks = channels, width, blocks
        self.net = nn.Sequential(_conv(channels, width, 5), _conv(width, 2 * width, 3, 2),
                                 *[_Residual(2 * width) for _ in range(blocks)],
                                 nn.Upsample(scale_factor=2, mode="nearest"), _conv(2 * width, width, 3),
                                 nn.Conv2d(width, channels, 5, padding=2, padding_mode="reflect"), nn.Sigmoid())

    def config(self) -> Dict[str, int]:
        return {"channels": self.channels, "width": self.width, "blocks": self.blocks}

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.channels or x.shape[-1] % 2 or x.shape[-2] % 2:
            raise ValueError(f"expected images (N, {self.channels}, H, W) with even H and W, got {tuple(x.shape)}")
        return self.net(x)


class StyleObjective:
    """α·content + β·style (+ optional TV is left to the caller): per image, differentiable in the image.

    The Gram targets come from ``style`` once; the content targets from each batch of content images.
    Both losses are the normalised ones of :func:`~.style.style_transfer`, so values compare with it.
    """

    def __init__(self, style: Tensor, channels: int, *, network: Network = DEFAULT_NETWORK,
                 style_layers: Optional[Sequence[str]] = None, content_layers: Optional[Sequence[str]] = None,
                 content_weight: float = 1.0, style_weight: float = 10.0, seed: int = 0,
                 device: Optional[torch.device] = None):
        if content_weight < 0 or style_weight < 0:
            raise ValueError("weights must be >= 0")
        device = device if device is not None else style.device
        self.net, self.style_layers = prepare_network(network, style_layers, channels, seed, device)
        self.content_layers = resolve_layers(self.net, content_layers, list(self.style_layers)[:1])
        self.channels = in_channels_of(self.net)
        style = match_channels(style.to(device), self.channels)
        self.gram = GramLoss(gram_targets(self.net, style, self.style_layers), relative=True)
        self.content_weight, self.style_weight = content_weight, style_weight
        self.layers = sorted(set(self.style_layers) | set(self.content_layers))

    def content_objective(self, content: Tensor) -> Objective:
        content = match_channels(content, self.channels)
        return _content_loss(self.content_layers, features_of(self.net, content, self.content_layers))

    def terms(self, x: Tensor, content: Tensor) -> Tuple[Tensor, Tensor]:
        """(content loss, style loss) per image of ``x``, the stylised versions of ``content``."""
        objective = self.content_objective(content)
        with frozen([self.net]), tapped(self.net, self.layers) as feats:
            seen = match_channels(x, self.channels)
            out = self.net(seen)
            ev = Evaluation(x=seen, logits=out, origin=content, samples=torch.arange(x.shape[0], device=x.device),
                            features=dict(feats))
            return objective(ev), self.gram(ev)

    def __call__(self, x: Tensor, content: Tensor) -> Tensor:
        c, s = self.terms(x, content)
        return self.content_weight * c + self.style_weight * s


@torch.no_grad()
def stylize(net: TransformNet, images: Tensor, batch_size: int = 256) -> Tensor:
    """T(images) in eval mode, in batches: feed-forward style transfer (the net's mode is restored)."""
    with frozen([net]):
        return torch.cat([net(images[i:i + batch_size]) for i in range(0, images.shape[0], batch_size)])
