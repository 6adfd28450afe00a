"""Text-conditional DCGAN generator and matching-aware discriminator (Reed et al. 2016, GAN-CLS).

Both compress the caption embedding with a linear layer and a leaky ReLU before using it, as in
the paper. The generator feeds [z | projected text] to DCGAN's generator body; the discriminator
runs DCGAN's strided convolutions on the image, tiles the projected text over the last feature
map, mixes them with a 1×1 convolution and scores the (image, text) pair with DCGAN's last layer —
so it can say "real image, wrong caption", which a discriminator of images alone cannot.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import torch
from torch import Tensor, nn

from ..models import PLANS, Critique, DCGANGenerator, dcgan_init, downsampling_layers, norm_layer

KIND = "gan-cls"


def projection(text_dim: int, proj_dim: int) -> nn.Module:
    """Linear + leaky ReLU, with PyTorch's default initialisation (not DCGAN's N(0, 0.02)): the caption
    then reaches G and D at the scale of z and of the image features from the first step, rather than
    ~50× weaker, which left the first runs ignoring their captions."""
    return nn.Sequential(nn.Linear(text_dim, proj_dim), nn.LeakyReLU(0.2, True))


def reset_projection(module: nn.Module) -> None:
    module[0].reset_parameters()


class TextGenerator(nn.Module):
    """(z (N, latent_dim), caption embedding (N, text_dim)) → images (N, channels, size, size) in [0, 1]."""

    num_classes = 0       # the shape GANTrainer's helpers look for: no class labels,
    code_categorical = 0  # no InfoGAN codes

    def __init__(self, latent_dim: int = 64, text_dim: int = 32, proj_dim: int = 32, image_size: int = 28,
                 channels: int = 1, width: int = 32):
        super().__init__()
        self.latent_dim, self.text_dim, self.proj_dim = latent_dim, text_dim, proj_dim
        self.image_size, self.channels, self.width = image_size, channels, width
        self.project = projection(text_dim, proj_dim)
        self.body = DCGANGenerator(latent_dim + proj_dim, image_size, channels, width)

    def config(self) -> Dict[str, Any]:
        return {"kind": KIND, "latent_dim": self.latent_dim, "text_dim": self.text_dim, "proj_dim": self.proj_dim,
                "image_size": self.image_size, "channels": self.channels, "width": self.width}

    def forward(self, z: Tensor, text: Optional[Tensor] = None) -> Tensor:
        if text is None or text.shape != (z.shape[0], self.text_dim):
            raise ValueError(f"a text-conditional generator needs caption embeddings of shape "
                             f"({z.shape[0]}, {self.text_dim}), got {None if text is None else tuple(text.shape)}")
        return self.body(torch.cat([z, self.project(text)], 1))

    def sample_latent(self, n: int, generator: Optional[torch.Generator] = None,
                      device: Optional[torch.device] = None) -> Tensor:
        """z ~ N(0, I) of shape (n, latent_dim)."""
        device = device if device is not None else next(self.parameters()).device
        return torch.randn(n, self.latent_dim, generator=generator, device=device)


class MatchingDiscriminator(nn.Module):
    """(images (N, C, H, W) in [0, 1], caption embeddings (N, text_dim)) → ``Critique`` whose score is a
    logit of "real image that matches its caption"."""

    num_classes = 0

    def __init__(self, image_size: int = 28, channels: int = 1, width: int = 32, text_dim: int = 32,
                 proj_dim: int = 32, norm: str = "batch"):
        super().__init__()
        if image_size not in PLANS:
            raise ValueError(f"image_size must be one of {sorted(PLANS)}, got {image_size}")
        self.image_size, self.channels, self.width, self.norm = image_size, channels, width, norm
        self.text_dim, self.proj_dim = text_dim, proj_dim
        plan = PLANS[image_size]["d"]
        self.main = nn.Sequential(*downsampling_layers(plan, [channels, width, 2 * width, 4 * width], norm))
        self.project = projection(text_dim, proj_dim)
        self.joint = nn.Sequential(nn.Conv2d(4 * width + proj_dim, 4 * width, 1, bias=False),
                                   norm_layer(norm, 4 * width), nn.LeakyReLU(0.2, True))
        k, s, p = plan[-1]
        self.head = nn.Conv2d(4 * width, 1, k, s, p, bias=False)
        dcgan_init(self)
        reset_projection(self.project)

    def config(self) -> Dict[str, Any]:
        return {"kind": KIND, "image_size": self.image_size, "channels": self.channels, "width": self.width,
                "text_dim": self.text_dim, "proj_dim": self.proj_dim, "norm": self.norm}

    def features(self, x: Tensor) -> Tensor:
        """The image's last feature map, before the caption joins: computed once for a real batch that is
        scored with its own and with mismatched captions."""
        return self.main(x.mul(2).sub(1))

    def score(self, features: Tensor, text: Optional[Tensor]) -> Tensor:
        """The (N,) logit of ``features`` (of :meth:`features`) paired with caption embeddings ``text``."""
        if text is None or text.shape != (features.shape[0], self.text_dim):
            got = None if text is None else tuple(text.shape)
            raise ValueError(f"the matching-aware discriminator needs caption embeddings of shape "
                             f"({features.shape[0]}, {self.text_dim}), got {got}")
        t = self.project(text)[:, :, None, None].expand(-1, -1, features.shape[2], features.shape[3])
        return self.head(self.joint(torch.cat([features, t], 1))).flatten()

    def critique(self, x: Tensor, text: Optional[Tensor] = None) -> Critique:
        return Critique(self.score(self.features(x), text))

    def forward(self, x: Tensor, text: Optional[Tensor] = None) -> Tensor:
        return self.critique(x, text).score


def build_text_models(g_kwargs: Dict[str, Any], d_kwargs: Dict[str, Any]) -> tuple:
    """(G, D) from their recorded constructor arguments (``kind`` dropped)."""
    strip = lambda kw: {k: v for k, v in kw.items() if k != "kind"}  # noqa: E731
    return TextGenerator(**strip(g_kwargs)), MatchingDiscriminator(**strip(d_kwargs))
