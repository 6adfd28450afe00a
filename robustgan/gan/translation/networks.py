"""The translation networks, sized for 28×28 Fashion-MNIST and kept tiny-configurable by ``width``.

Contract of every image-conditioned generator (relied on by provenance, which inverts G(x) ≈ y over
the source x): it has ``source_shape`` = (C, H, W) of its input and maps a source batch in [0, 1]
to images in [0, 1]. :class:`StarGenerator` also takes a target domain; ``to_domain(d)`` fixes it
and returns a one-argument module with the same contract.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Tuple, Union

import torch
from torch import Tensor, nn

from .blocks import (Configured, check_input, check_settings, conv_block, init_weights, norm2d, to_signed, to_unit,
                     up_block)
from .operators import one_hot_planes


class UNetGenerator(Configured):
    """pix2pix's U-Net (Isola et al. 2017): encoder 28 → 14 → 7, decoder 7 → 14 → 28, each decoder
    stage concatenated with the encoder stage of its size (the skips carry the high frequencies)."""

    def __init__(self, in_channels: int = 1, out_channels: int = 1, image_size: int = 28, width: int = 32,
                 dropout: float = 0.0, norm: str = "batch"):
        super().__init__()
        check_settings(norm, dropout, in_channels=in_channels, out_channels=out_channels, image_size=image_size,
                       width=width)
        if image_size % 4:
            raise ValueError(f"image_size must be divisible by 4 (two halvings), got {image_size}")
        self.remember(in_channels=in_channels, out_channels=out_channels, image_size=image_size, width=width,
                      dropout=float(dropout), norm=norm)
        self.source_shape: Tuple[int, int, int] = (in_channels, image_size, image_size)
        w = width
        self.enc0 = conv_block(in_channels, w, 3, 1, "none")  # 28
        self.enc1 = conv_block(w, 2 * w, 4, 2, norm)          # 14
        self.enc2 = conv_block(2 * w, 4 * w, 4, 2, norm)      # 7
        self.mid = conv_block(4 * w, 4 * w, 3, 1, norm, slope=0.0)
        self.dec2 = up_block(8 * w, 2 * w, norm, dropout)     # 7 → 14
        self.dec1 = up_block(4 * w, w, norm, dropout)         # 14 → 28
        self.out = nn.Conv2d(2 * w, out_channels, 3, 1, 1)
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        check_input(x, self.source_shape, type(self).__name__)
        e0 = self.enc0(to_signed(x))
        e1 = self.enc1(e0)
        e2 = self.enc2(e1)
        d2 = self.dec2(torch.cat([self.mid(e2), e2], 1))
        d1 = self.dec1(torch.cat([d2, e1], 1))
        return to_unit(self.out(torch.cat([d1, e0], 1)))


class PatchDiscriminator(Configured):
    """PatchGAN: a 7×7 map of real/fake logits, each seeing an 18×18-pixel patch (28-pixel input).

    Conditional (pix2pix) with ``source_channels`` > 0: it judges the pair, the source concatenated
    before the image as channels; unconditional (CycleGAN) with ``source_channels=0``."""

    def __init__(self, image_channels: int = 1, source_channels: int = 1, width: int = 32, norm: str = "batch"):
        super().__init__()
        check_settings(norm, image_channels=image_channels, width=width)
        if not isinstance(source_channels, int) or source_channels < 0:
            raise ValueError(f"source_channels must be an integer ≥ 0, got {source_channels!r}")
        self.remember(image_channels=image_channels, source_channels=source_channels, width=width, norm=norm)
        self.image_channels, self.source_channels = image_channels, source_channels
        self.body = nn.Sequential(conv_block(source_channels + image_channels, width, 4, 2, "none"),
                                  conv_block(width, 2 * width, 4, 2, norm),
                                  nn.Conv2d(2 * width, 1, 3, 1, 1))
        init_weights(self)

    def forward(self, image: Tensor, source: Union[Tensor, None] = None) -> Tensor:
        if self.source_channels:
            if source is None:
                raise ValueError("this PatchDiscriminator is conditional: pass the source images too")
            check_input(source, (self.source_channels, *image.shape[-2:]), "PatchDiscriminator's source")
            image = torch.cat([source, image], 1)
        elif source is not None:
            raise ValueError("this PatchDiscriminator is unconditional (source_channels=0): pass no source")
        return self.body(to_signed(image))


class ResidualBlock(nn.Module):
    """SRResNet's block: conv → norm → PReLU → conv → norm, plus the input."""

    def __init__(self, channels: int, norm: str):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, 1, 1), norm2d(norm, channels), nn.PReLU(channels),
                                  nn.Conv2d(channels, channels, 3, 1, 1), norm2d(norm, channels))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class SRGenerator(Configured):
    """SRResNet (Ledig et al. 2017): residual blocks at the low resolution, a long skip, then one
    sub-pixel convolution (conv to 4× the channels, ``nn.PixelShuffle(2)``) per doubling; ``scale``
    2 or 4 maps (C, 14, 14) or (C, 7, 7) to (C, 28, 28)."""

    def __init__(self, channels: int = 1, image_size: int = 28, scale: int = 2, width: int = 32, blocks: int = 4,
                 norm: str = "batch"):
        super().__init__()
        check_settings(norm, channels=channels, image_size=image_size, width=width, blocks=blocks)
        if scale not in (2, 4) or image_size % scale:
            raise ValueError(f"scale must be 2 or 4 and divide image_size {image_size}, got {scale!r}")
        self.remember(channels=channels, image_size=image_size, scale=scale, width=width, blocks=blocks, norm=norm)
        self.source_shape: Tuple[int, int, int] = (channels, image_size // scale, image_size // scale)
        self.head = nn.Sequential(nn.Conv2d(channels, width, 3, 1, 1), nn.PReLU(width))
        self.blocks = nn.Sequential(*[ResidualBlock(width, norm) for _ in range(blocks)])
        self.merge = nn.Sequential(nn.Conv2d(width, width, 3, 1, 1), norm2d(norm, width))
        self.upsample = nn.Sequential(*[nn.Sequential(nn.Conv2d(width, 4 * width, 3, 1, 1), nn.PixelShuffle(2),
                                                      nn.PReLU(width)) for _ in range(int(math.log2(scale)))])
        self.tail = nn.Conv2d(width, channels, 3, 1, 1)
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        check_input(x, self.source_shape, type(self).__name__)
        h = self.head(to_signed(x))
        return to_unit(self.tail(self.upsample(self.merge(self.blocks(h)) + h)))


class SRDiscriminator(Configured):
    """SRGAN's discriminator, shrunk: strided conv blocks 28 → 14 → 7, global pooling, two dense
    layers; one real/fake logit per image, shape (N, 1)."""

    def __init__(self, channels: int = 1, width: int = 32, norm: str = "batch"):
        super().__init__()
        check_settings(norm, channels=channels, width=width)
        self.remember(channels=channels, width=width, norm=norm)
        self.body = nn.Sequential(conv_block(channels, width, 3, 1, "none"), conv_block(width, width, 3, 2, norm),
                                  conv_block(width, 2 * width, 3, 1, norm), conv_block(2 * width, 2 * width, 3, 2, norm),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * width, 4 * width),
                                  nn.LeakyReLU(0.2, inplace=True), nn.Linear(4 * width, 1))
        init_weights(self)

    def forward(self, image: Tensor) -> Tensor:
        return self.body(to_signed(image))


class DomainTranslator(nn.Module):
    """A :class:`StarGenerator` with its target domain fixed: one argument, ``source_shape``, [0, 1] out.
    It shares the StarGenerator's weights (a view, not a copy)."""

    def __init__(self, generator: "StarGenerator", domain: int):
        super().__init__()
        self.generator, self.domain = generator, int(domain)
        self.source_shape: Tuple[int, int, int] = generator.source_shape

    def forward(self, x: Tensor) -> Tensor:
        return self.generator(x, self.domain)


class StarGenerator(Configured):
    """StarGAN's generator (Choi et al. 2018): the image with the target domain's one-hot vector
    broadcast as K extra channels, through a U-Net; ``forward(x, domain)``, domain an int or (N,)."""

    def __init__(self, channels: int = 1, num_domains: int = 3, image_size: int = 28, width: int = 32,
                 norm: str = "instance"):
        super().__init__()
        check_settings(norm, channels=channels, num_domains=num_domains, image_size=image_size, width=width)
        self.remember(channels=channels, num_domains=num_domains, image_size=image_size, width=width, norm=norm)
        self.num_domains = num_domains
        self.source_shape: Tuple[int, int, int] = (channels, image_size, image_size)
        self.net = UNetGenerator(channels + num_domains, channels, image_size, width, 0.0, norm)

    def _domains(self, domain: Union[int, Tensor], x: Tensor) -> Tensor:
        if not isinstance(domain, Tensor):
            domain = torch.full((x.shape[0],), int(domain), dtype=torch.long, device=x.device)
        if domain.shape != (x.shape[0],) or domain.is_floating_point():
            raise ValueError(f"domain must be an int or integer indices of shape ({x.shape[0]},), "
                             f"got {domain.dtype} {tuple(domain.shape)}")
        if domain.numel() and (int(domain.min()) < 0 or int(domain.max()) >= self.num_domains):
            raise ValueError(f"domain must lie in [0, {self.num_domains - 1}]")
        return domain

    def forward(self, x: Tensor, domain: Union[int, Tensor]) -> Tensor:
        check_input(x, self.source_shape, type(self).__name__)
        planes = one_hot_planes(self._domains(domain, x), self.num_domains, x)
        return self.net(torch.cat([x, planes], 1))

    def to_domain(self, domain: int) -> DomainTranslator:
        """The one-argument translator into ``domain`` (weights shared with this generator)."""
        if not isinstance(domain, int) or isinstance(domain, bool) or not 0 <= domain < self.num_domains:
            raise ValueError(f"domain must be an integer in [0, {self.num_domains - 1}], got {domain!r}")
        return DomainTranslator(self, domain)


class StarCritique(NamedTuple):
    """What a StarGAN discriminator says: a real/fake patch map and the domain logits."""

    score: Tensor          # (N, 1, 7, 7) real/fake logits
    domain_logits: Tensor  # (N, K)


class StarDiscriminator(Configured):
    """StarGAN's discriminator: a shared trunk 28 → 14 → 7 (no normalisation, LeakyReLU 0.01), a
    PatchGAN real/fake head and a domain-classification head (a conv over the whole 7×7 map)."""

    def __init__(self, channels: int = 1, num_domains: int = 3, image_size: int = 28, width: int = 32):
        super().__init__()
        check_settings(channels=channels, num_domains=num_domains, image_size=image_size, width=width)
        if image_size % 4:
            raise ValueError(f"image_size must be divisible by 4 (two halvings), got {image_size}")
        self.remember(channels=channels, num_domains=num_domains, image_size=image_size, width=width)
        self.trunk = nn.Sequential(conv_block(channels, width, 4, 2, "none", 0.01),
                                   conv_block(width, 2 * width, 4, 2, "none", 0.01))
        self.src = nn.Conv2d(2 * width, 1, 3, 1, 1)
        self.cls = nn.Conv2d(2 * width, num_domains, image_size // 4, bias=False)
        init_weights(self)

    def forward(self, image: Tensor) -> StarCritique:
        h = self.trunk(to_signed(image))
        return StarCritique(self.src(h), self.cls(h).flatten(1))


__all__ = ["DomainTranslator", "PatchDiscriminator", "ResidualBlock", "SRDiscriminator", "SRGenerator",
           "StarCritique", "StarDiscriminator", "StarGenerator", "UNetGenerator"]
