"""The GAN architectures beside DCGAN: their constructor arguments from a config, and their classes by kind.

``build.model_kwargs`` / ``build_generator`` / ``build_discriminator`` consult this table, so a
checkpoint's ``generator_kwargs`` carry a ``kind`` only for these archs (old DCGAN ones load as before).
"""
from __future__ import annotations

from typing import Any, Dict, Tuple

from torch import nn

from .lapgan import LAPGANDiscriminator, LAPGANGenerator
from .progressive import ProgressiveDiscriminator, ProgressiveGenerator

GENERATORS: Dict[str, type] = {"progressive": ProgressiveGenerator, "lapgan": LAPGANGenerator}
DISCRIMINATORS: Dict[str, type] = {"progressive": ProgressiveDiscriminator, "lapgan": LAPGANDiscriminator}


def arch_kwargs(cfg: Any, image_size: int, channels: int) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """(G, D) constructor arguments of ``cfg.arch`` (unconditional: the config refuses labels for these)."""
    base = {"kind": cfg.arch, "image_size": image_size, "channels": channels, "width": cfg.width}
    g = {**base, "latent_dim": cfg.latent_dim}
    d = {**base, "minibatch_discrimination": cfg.minibatch_discrimination, "spectral_norm": cfg.spectral_norm}
    if cfg.arch == "progressive":
        g["phase_steps"] = d["phase_steps"] = cfg.progressive_steps
    return g, d


def build_arch(table: Dict[str, type], kwargs: Dict[str, Any]) -> nn.Module:
    """The model of ``kwargs["kind"]`` from ``table``."""
    kwargs = dict(kwargs)
    return table[kwargs.pop("kind")](**kwargs)
