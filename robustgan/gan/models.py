"""DCGAN generator and discriminator (Radford et al. 2016) for 28×28 and 32×32 images.

Variants share one body: a conditional generator/discriminator (class embedding concatenated to
z and to the image as an extra channel, Mirza & Osindero 2014), an auxiliary-classifier head
(AC-GAN, Odena et al. 2017) and a latent-code head Q (InfoGAN, Chen et al. 2016).

At the API boundary images are in [0, 1]: the generator maps its tanh output with (t + 1) / 2 and
the discriminator maps its input back with 2x − 1, so the networks see the [−1, 1] range DCGAN
was designed for while every user-facing tensor follows the library convention.
"""
from __future__ import annotations

from typing import Any, Dict, List, NamedTuple, Optional, Tuple

import torch
from torch import Tensor, nn

from .layers import MinibatchDiscrimination

# (kernel, stride, padding) of the four layers; the discriminator mirrors the generator.
PLANS: Dict[int, Dict[str, List[Tuple[int, int, int]]]] = {
    28: {"g": [(7, 1, 0), (3, 1, 1), (4, 2, 1), (4, 2, 1)],   # 1 → 7 → 7 → 14 → 28
         "d": [(4, 2, 1), (4, 2, 1), (3, 1, 1), (7, 1, 0)]},  # 28 → 14 → 7 → 7 → 1
    32: {"g": [(4, 1, 0), (4, 2, 1), (4, 2, 1), (4, 2, 1)],   # 1 → 4 → 8 → 16 → 32
         "d": [(4, 2, 1), (4, 2, 1), (4, 2, 1), (4, 1, 0)]},  # 32 → 16 → 8 → 4 → 1
}
NORMS = ("batch", "layer", "none")


class Critique(NamedTuple):
    """Everything a discriminator says about a batch; heads it lacks are None."""

    score: Tensor                          # (N,) logit, critic value, or autoencoder energy
    class_logits: Optional[Tensor] = None  # (N, K) AC-GAN auxiliary classifier
    code_logits: Optional[Tensor] = None   # (N, C) InfoGAN Q, categorical code
    code_cont: Optional[Tensor] = None     # (N, M) InfoGAN Q, continuous codes (means)
    embedding: Optional[Tensor] = None     # (N, E) autoencoder bottleneck (EBGAN pulling-away term)


def _check_size(image_size: int) -> None:
    if image_size not in PLANS:
        raise ValueError(f"image_size must be one of {sorted(PLANS)}, got {image_size}")


def _check_positive(**values: int) -> None:
    for name, v in values.items():
        if not isinstance(v, int) or v <= 0:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")


def _check_labels(y: Optional[Tensor], n: int, num_classes: int, who: str) -> Tensor:
    if y is None:
        raise ValueError(f"{who} is conditional on {num_classes} classes: pass labels y")
    if y.shape != (n,):
        raise ValueError(f"labels y must have shape ({n},), got {tuple(y.shape)}")
    return y


def dcgan_init(module: nn.Module) -> None:
    """DCGAN's initialisation, also pix2pix's and CycleGAN's: conv weights N(0, 0.02), norm scales N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def norm_layer(kind: str, channels: int) -> nn.Module:
    """'batch' (DCGAN), 'layer' (for gradient penalties, which assume per-sample outputs), 'none'."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"norm must be one of {NORMS}, got {kind!r}")


class DCGANGenerator(nn.Module):
    """z (N, latent_dim) [, labels y (N,)] → images (N, channels, size, size) in [0, 1].

    ``width`` is DCGAN's ``ngf``: the layers have 4·width, 2·width and width channels.
    ``num_classes > 0`` makes it conditional. ``code_categorical``/``code_continuous`` reserve the
    last entries of z for InfoGAN codes: z = [noise | one-hot category | continuous codes].
    """

    def __init__(self, latent_dim: int = 100, image_size: int = 28, channels: int = 1, width: int = 64,
                 num_classes: int = 0, embed_dim: Optional[int] = None, code_categorical: int = 0,
                 code_continuous: int = 0):
        super().__init__()
        _check_size(image_size)
        _check_positive(latent_dim=latent_dim, channels=channels, width=width)
        if num_classes < 0 or code_categorical < 0 or code_continuous < 0:
            raise ValueError("num_classes and code sizes must be ≥ 0")
        if code_categorical + code_continuous >= latent_dim:
            raise ValueError(f"latent_dim={latent_dim} leaves no noise beside {code_categorical}+{code_continuous} code entries")
        self.latent_dim, self.image_size, self.channels, self.width = latent_dim, image_size, channels, width
        self.num_classes, self.code_categorical, self.code_continuous = num_classes, code_categorical, code_continuous
        self.noise_dim = latent_dim - code_categorical - code_continuous
        self.embed_dim = (embed_dim or num_classes) if num_classes else 0
        self.embed = nn.Embedding(num_classes, self.embed_dim) if num_classes else None
        plan = PLANS[image_size]["g"]
        chans = [latent_dim + self.embed_dim, 4 * width, 2 * width, width, channels]
        layers: List[nn.Module] = []
        for i, (k, s, p) in enumerate(plan):
            layers.append(nn.ConvTranspose2d(chans[i], chans[i + 1], k, s, p, bias=False))
            if i < len(plan) - 1:
                layers += [nn.BatchNorm2d(chans[i + 1]), nn.ReLU(True)]
        layers.append(nn.Tanh())
        self.main = nn.Sequential(*layers)
        dcgan_init(self)

    def config(self) -> Dict[str, Any]:
        """The constructor arguments: with the state dict, all a checkpoint needs to rebuild it."""
        return {"latent_dim": self.latent_dim, "image_size": self.image_size, "channels": self.channels,
                "width": self.width, "num_classes": self.num_classes, "embed_dim": self.embed_dim or None,
                "code_categorical": self.code_categorical, "code_continuous": self.code_continuous}

    def forward(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:
        if z.dim() == 4:
            z = z.flatten(1)
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        if self.embed is not None:
            z = torch.cat([z, self.embed(_check_labels(y, z.shape[0], self.num_classes, "this generator"))], 1)
        return self.main(z[:, :, None, None]).add(1).mul(0.5)

    def sample_latent(self, n: int, generator: Optional[torch.Generator] = None,
                      device: Optional[torch.device] = None) -> Tensor:
        """z ~ N(0, I), with InfoGAN codes drawn from their priors (uniform category, U(−1, 1))."""
        device = device if device is not None else next(self.parameters()).device
        z = torch.randn(n, self.latent_dim, generator=generator, device=device)
        if self.code_categorical or self.code_continuous:
            cat = torch.randint(0, max(self.code_categorical, 1), (n,), generator=generator, device=device)
            cont = torch.rand(n, self.code_continuous, generator=generator, device=device) * 2 - 1
            z = self.with_codes(z, cat if self.code_categorical else None, cont)
        return z

    def with_codes(self, z: Tensor, category: Optional[Tensor] = None, continuous: Optional[Tensor] = None) -> Tensor:
        """z with its InfoGAN code entries replaced by one-hot(category) and ``continuous``."""
        z = z.clone()
        start = self.noise_dim
        if category is not None:
            if not self.code_categorical:
                raise ValueError("this generator has no categorical code")
            z[:, start:start + self.code_categorical] = nn.functional.one_hot(category, self.code_categorical).to(z)
        start += self.code_categorical
        if continuous is not None and self.code_continuous:
            z[:, start:] = continuous.to(z)
        return z

    def split_codes(self, z: Tensor) -> Tuple[Optional[Tensor], Optional[Tensor]]:
        """(category index (N,), continuous codes (N, M)) stored in z, or None where absent."""
        start = self.noise_dim
        cat = z[:, start:start + self.code_categorical].argmax(1) if self.code_categorical else None
        start += self.code_categorical
        cont = z[:, start:] if self.code_continuous else None
        return cat, cont


def minibatch_head(features: int, kernels: int) -> nn.Module:
    """Flatten → minibatch discrimination (``kernels``) → linear score: the head of a batch-aware discriminator."""
    return nn.Sequential(nn.Flatten(), MinibatchDiscrimination(features, kernels), nn.Linear(features + kernels, 1))


def downsampling_layers(plan, chans: List[int], norm: str) -> List[nn.Module]:
    """The DCGAN discriminator's strided convolutions (all but the plan's last), no norm on the first."""
    layers: List[nn.Module] = []
    for i, (k, s, p) in enumerate(plan[:-1]):
        layers.append(nn.Conv2d(chans[i], chans[i + 1], k, s, p, bias=False))
        if i > 0:
            layers.append(norm_layer(norm, chans[i + 1]))
        layers.append(nn.LeakyReLU(0.2, True))
    return layers


class DCGANDiscriminator(nn.Module):
    """Images in [0, 1] (N, channels, size, size) [, labels y] → ``Critique``; ``forward`` gives the score.

    ``width`` is DCGAN's ``ndf``. ``num_classes`` conditions on labels (an embedded label map as
    an extra input channel); ``aux_classes`` adds the AC-GAN classifier head; ``code_categorical``
    / ``code_continuous`` add InfoGAN's Q head. ``norm`` is 'batch' (DCGAN), 'layer' or 'none'.
    ``minibatch_discrimination`` > 0 puts that many minibatch-discrimination kernels (Salimans et al.
    2016) on the flattened last features, and the score becomes a linear layer on [features | o].
    """

    def __init__(self, image_size: int = 28, channels: int = 1, width: int = 64, norm: str = "batch",
                 num_classes: int = 0, aux_classes: int = 0, code_categorical: int = 0, code_continuous: int = 0,
                 minibatch_discrimination: int = 0):
        super().__init__()
        _check_size(image_size)
        _check_positive(channels=channels, width=width)
        self.image_size, self.channels, self.width, self.norm = image_size, channels, width, norm
        self.num_classes, self.aux_classes = num_classes, aux_classes
        self.code_categorical, self.code_continuous = code_categorical, code_continuous
        self.label_map = nn.Embedding(num_classes, image_size * image_size) if num_classes else None
        plan = PLANS[image_size]["d"]
        chans = [channels + (1 if num_classes else 0), width, 2 * width, 4 * width]
        self.main = nn.Sequential(*downsampling_layers(plan, chans, norm))
        self.minibatch_discrimination = minibatch_discrimination
        k, s, p = plan[-1]
        self.head = (minibatch_head(4 * width * k * k, minibatch_discrimination) if minibatch_discrimination
                     else nn.Conv2d(4 * width, 1, k, s, p, bias=False))
        self.aux_head = nn.Conv2d(4 * width, aux_classes, k, s, p) if aux_classes else None
        q = code_categorical + code_continuous
        self.q_head = nn.Conv2d(4 * width, q, k, s, p) if q else None
        dcgan_init(self)

    def config(self) -> Dict[str, Any]:
        return {"image_size": self.image_size, "channels": self.channels, "width": self.width, "norm": self.norm,
                "num_classes": self.num_classes, "aux_classes": self.aux_classes,
                "code_categorical": self.code_categorical, "code_continuous": self.code_continuous,
                "minibatch_discrimination": self.minibatch_discrimination}

    def critique(self, x: Tensor, y: Optional[Tensor] = None) -> Critique:
        h = x.mul(2).sub(1)
        if self.label_map is not None:
            y = _check_labels(y, x.shape[0], self.num_classes, "this discriminator")
            h = torch.cat([h, self.label_map(y).view(-1, 1, self.image_size, self.image_size)], 1)
        h = self.main(h)
        score = self.head(h).flatten()
        class_logits = self.aux_head(h).flatten(1) if self.aux_head is not None else None
        code_logits = code_cont = None
        if self.q_head is not None:
            q = self.q_head(h).flatten(1)
            code_logits = q[:, :self.code_categorical] if self.code_categorical else None
            code_cont = q[:, self.code_categorical:] if self.code_continuous else None
        return Critique(score, class_logits, code_logits, code_cont)

    def forward(self, x: Tensor, y: Optional[Tensor] = None) -> Tensor:
        return self.critique(x, y).score
