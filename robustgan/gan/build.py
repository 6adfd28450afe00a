"""Build a run's generator and discriminator from its config, and load a trained generator back.

A GAN checkpoint (format ``robustgan-gan/1``) is plain data — constructor arguments, state
dicts, optimiser states, RNG states, numbers — so it always loads with ``weights_only=True``.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Tuple, Union

import torch
from torch import nn

from ..models.checkpoint import safe_load
from .archs import DISCRIMINATORS, GENERATORS, arch_kwargs, build_arch
from .autoencoder import AutoencoderDiscriminator
from .config import GANConfig
from .style.build import KIND as STYLE, build_style_generator, style_kwargs
from .models import DCGANDiscriminator, DCGANGenerator
from .tricks import apply_spectral_norm

FORMAT = "robustgan-gan/1"
PathLike = Union[str, os.PathLike]


def model_kwargs(cfg: GANConfig, image_size: int, channels: int, num_classes: int) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """Constructor arguments of (G, D) for a resolved config and a dataset's shape."""
    if cfg.arch in GENERATORS:
        return arch_kwargs(cfg, image_size, channels)
    spec = cfg.spec
    conditional = cfg.conditional or spec.conditioning in ("concat", "aux")
    if conditional and num_classes < 2:
        raise ValueError(f"{spec.name} with class conditioning needs labelled data with ≥ 2 classes")
    info = spec.conditioning == "info"
    g = {"latent_dim": cfg.latent_dim, "image_size": image_size, "channels": channels, "width": cfg.width,
         "num_classes": num_classes if conditional else 0,
         "code_categorical": cfg.info_categorical if info else 0,
         "code_continuous": cfg.info_continuous if info else 0}
    if spec.discriminator == "autoencoder":
        d = {"kind": "autoencoder", "image_size": image_size, "channels": channels, "width": cfg.width,
             "code_dim": cfg.code_dim, "energy": spec.defaults.get("energy", "l2"), "norm": cfg.d_norm}
    else:
        d = {"kind": "dcgan", "image_size": image_size, "channels": channels, "width": cfg.width, "norm": cfg.d_norm,
             "num_classes": num_classes if spec.conditioning == "concat" or (cfg.conditional and spec.conditioning == "none") else 0,
             "aux_classes": num_classes if spec.conditioning == "aux" else 0,
             "code_categorical": g["code_categorical"], "code_continuous": g["code_continuous"]}
    d["spectral_norm"] = cfg.spectral_norm
    d["minibatch_discrimination"] = cfg.minibatch_discrimination
    if cfg.arch == STYLE:  # a style-based G against DCGAN's D
        g = style_kwargs(cfg, image_size, channels)
    return g, d


def build_generator(kwargs: Dict[str, Any]) -> DCGANGenerator:
    if kwargs.get("kind") in GENERATORS:
        return build_arch(GENERATORS, kwargs)
    if kwargs.get("kind") == STYLE:
        return build_style_generator(kwargs)
    return DCGANGenerator(**kwargs)


def build_discriminator(kwargs: Dict[str, Any]) -> nn.Module:
    kwargs = dict(kwargs)
    kind, sn = kwargs.pop("kind"), kwargs.pop("spectral_norm", False)
    if kind in DISCRIMINATORS:
        d = build_arch(DISCRIMINATORS, {"kind": kind, **kwargs})
    else:
        d = AutoencoderDiscriminator(**kwargs) if kind == "autoencoder" else DCGANDiscriminator(**kwargs)
    return apply_spectral_norm(d) if sn else d


def build_models(cfg: GANConfig, image_size: int, channels: int, num_classes: int = 0,
                 seed: int = None) -> Tuple[DCGANGenerator, nn.Module]:
    """(G, D) initialised from ``seed`` (default: the config's) without touching the global RNG."""
    g_kwargs, d_kwargs = model_kwargs(cfg.resolved(), image_size, channels, num_classes)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed if seed is None else seed)
        return build_generator(g_kwargs), build_discriminator(d_kwargs)


def load_checkpoint(path: PathLike, map_location: Any = "cpu") -> Dict[str, Any]:
    """A GAN training checkpoint as a dict (``weights_only=True``), checked for the format tag."""
    ckpt = safe_load(path, map_location=map_location)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ValueError(f"{path} is not a robustgan GAN checkpoint (expected format {FORMAT!r})")
    return ckpt


def load_generator(path: PathLike, ema: bool = True, device: Union[str, torch.device] = "cpu") -> DCGANGenerator:
    """The generator of a GAN checkpoint, in eval mode on ``device``.

    The returned module maps ``z`` of shape (N, ``latent_dim``) (and labels (N,) when
    ``num_classes > 0``) to images in [0, 1]; ``sample_latent(n, generator)`` draws z from its
    prior. With ``ema=True`` the exponential-moving-average weights are used when the run kept them.
    """
    ckpt = load_checkpoint(path)
    g = build_generator(ckpt["generator_kwargs"])
    state = ckpt["generator_ema"] if ema and ckpt.get("generator_ema") is not None else ckpt["generator"]
    try:
        g.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(f"{path}: generator weights do not fit its recorded architecture: {str(exc)[:300]}") from None
    return g.to(device).eval()
