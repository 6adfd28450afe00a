"""Translation checkpoints (format ``robustgan-translation/1``): save, load the translator, translate.

A checkpoint is plain data — per network its class name and constructor arguments, state dicts,
and for a training checkpoint optimiser, pool and RNG states — so it loads with
``weights_only=True``. The networks are named by role: ``G`` (pix2pix, SRGAN, StarGAN),
``G_ab``/``G_ba`` (CycleGAN's A → B and B → A), ``D``/``D_a``/``D_b`` for discriminators.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Optional, Union

import torch
from torch import Tensor, nn

from ...models.checkpoint import atomic_save, safe_load
from ...optim.freeze import frozen
from ...validation import check_images
from .networks import PatchDiscriminator, SRDiscriminator, SRGenerator, StarDiscriminator, StarGenerator, UNetGenerator

FORMAT = "robustgan-translation/1"
PathLike = Union[str, os.PathLike]
NETWORKS = {cls.__name__: cls for cls in (UNetGenerator, PatchDiscriminator, SRGenerator, SRDiscriminator,
                                          StarGenerator, StarDiscriminator)}
DIRECTIONS = {"ab": "G_ab", "ba": "G_ba"}


def network_spec(module: nn.Module) -> Dict[str, Any]:
    """What rebuilds ``module``'s architecture: its class name and constructor arguments."""
    name = type(module).__name__
    if name not in NETWORKS:
        raise TypeError(f"not a translation network: {name}")
    return {"class": name, "kwargs": module.config()}


def build_network(spec: Mapping[str, Any]) -> nn.Module:
    """The network a :func:`network_spec` describes, freshly initialised (from the global RNG)."""
    cls = NETWORKS.get(spec.get("class"))
    if cls is None:
        raise ValueError(f"unknown translation network {spec.get('class')!r}: one of {sorted(NETWORKS)}")
    return cls(**spec["kwargs"])


def translator_record(arch: str, generators: Mapping[str, nn.Module],
                      generators_ema: Optional[Mapping[str, nn.Module]] = None,
                      config: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The part of a checkpoint that :func:`load_translator` reads (a training checkpoint adds to it)."""
    def states(modules: Mapping[str, nn.Module]) -> Dict[str, Dict[str, Tensor]]:
        return {k: {n: t.detach().cpu() for n, t in m.state_dict().items()} for k, m in modules.items()}

    return {"format": FORMAT, "arch": arch, "config": dict(config or {}),
            "networks": {k: network_spec(m) for k, m in generators.items()},
            "generators": states(generators), "generators_ema": states(generators_ema) if generators_ema else None}


def save_translator(path: PathLike, arch: str, generators: Mapping[str, nn.Module],
                    generators_ema: Optional[Mapping[str, nn.Module]] = None,
                    config: Optional[Dict[str, Any]] = None) -> None:
    """Write the generators (and their EMA copies) atomically, loadable by :func:`load_translator`."""
    atomic_save(translator_record(arch, generators, generators_ema, config), path)


def load_translation_checkpoint(path: PathLike, map_location: Any = "cpu") -> Dict[str, Any]:
    """A translation checkpoint as a dict (``weights_only=True``), checked for the format tag."""
    ckpt = safe_load(path, map_location=map_location)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ValueError(f"{path} is not a robustgan translation checkpoint (expected format {FORMAT!r})")
    return ckpt


def load_translator(path: PathLike, ema: bool = True, direction: str = "ab",
                    device: Union[str, torch.device] = "cpu") -> nn.Module:
    """The generator of a translation checkpoint, in eval mode on ``device``.

    pix2pix and SRGAN: G (source → image). CycleGAN: G_ab for ``direction="ab"`` (A → B), G_ba for
    ``"ba"``. StarGAN: the :class:`StarGenerator` (``forward(x, domain)``; ``to_domain(d)`` gives a
    one-argument module). With ``ema=True`` the EMA weights are used when the run kept them.
    """
    ckpt = load_translation_checkpoint(path)
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {sorted(DIRECTIONS)}, got {direction!r}")
    if ckpt["arch"] == "cyclegan":
        name = DIRECTIONS[direction]
    elif direction != "ab":
        raise ValueError(f"direction={direction!r} is for CycleGAN checkpoints; {path} is {ckpt['arch']}")
    else:
        name = "G"
    states = ckpt["generators_ema"] if ema and ckpt.get("generators_ema") else ckpt["generators"]
    g = build_network(ckpt["networks"][name])
    try:
        g.load_state_dict(states[name])
    except RuntimeError as exc:
        raise ValueError(f"{path}: weights of {name} do not fit its recorded architecture: {str(exc)[:300]}") from None
    return g.to(device).eval()


@torch.no_grad()
def translate(generator: nn.Module, images: Tensor, domain: Union[int, Tensor, None] = None,
              batch_size: int = 256) -> Tensor:
    """``generator``'s translations of source ``images`` in [0, 1], in eval mode (its mode restored),
    in batches, on the generator's device; returned on the images' device. ``domain`` (an int or
    (N,) indices) is the target domain of a StarGAN generator, and only of one."""
    check_images(images)
    star = isinstance(generator, StarGenerator)
    if star and domain is None:
        raise ValueError("a StarGenerator translates into a target domain: pass domain")
    if not star and domain is not None:
        raise ValueError(f"domain is for a StarGenerator; {type(generator).__name__} takes the source alone")
    param = next(generator.parameters(), None)
    device = param.device if param is not None else images.device
    out = []
    with frozen([generator]):
        for start in range(0, images.shape[0], batch_size):
            x = images[start:start + batch_size].to(device)
            if star:
                d = domain[start:start + batch_size].to(device) if isinstance(domain, Tensor) else domain
                out.append(generator(x, d))
            else:
                out.append(generator(x))
    return torch.cat(out).to(images.device)


__all__ = ["DIRECTIONS", "FORMAT", "NETWORKS", "build_network", "load_translation_checkpoint", "load_translator",
           "network_spec", "save_translator", "translate", "translator_record"]
