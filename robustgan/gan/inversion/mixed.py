"""Latent and image-conditioned generators side by side: one residual table (K, M) for attribution.

A generator with an attribute ``source_shape`` is image-conditioned and inverted over its source
(:func:`~.source.invert_sources`); any other is a latent generator (:func:`~.invert.invert`). Each
kind is one batched run; the residuals are stacked back in the order the generators were given,
so :func:`~.attribute.decide` compares them all against one threshold.

Settings: ``invert_kwargs`` go to the latent generators' run as they go to ``invert``; the shared
ones (restarts, steps, seed, chunk, progress) also to the image-conditioned run, and
``source_kwargs`` (lr, tv_weight, init, source_term, …) to that run alone. A per-generator entry
of ``source_kwargs`` (``init``, ``source_term``, ``source_shapes``) may list all K generators (the
latent ones' entries are skipped) or the image-conditioned ones alone, in their order.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Mapping, Optional, Union

import torch
from torch import Tensor, nn

from .invert import Generators, LatentInversion, as_generator_list, invert
from .source import SourceInversion, invert_sources

SHARED = ("restarts", "steps", "seed", "chunk", "progress")
PER_GENERATOR = ("init", "source_term", "source_shapes")
LATENT, SOURCE = "latent", "source"


def generator_kind(generator: nn.Module, name: str = "generator") -> str:
    """``"source"`` for an image-conditioned generator (attribute ``source_shape``), else ``"latent"``."""
    has_source = getattr(generator, "source_shape", None) is not None
    if has_source and getattr(generator, "latent_dim", None) is not None:
        raise ValueError(f"{name} has both latent_dim and source_shape: keep the one its forward takes")
    return SOURCE if has_source else LATENT


@dataclass
class MixedInversion:
    """Per generator k and image m: the kept input (latent or source), reconstruction and residual."""

    variables: List[Tensor]  # per generator: latents (M, D_k) or sources (M, *source_shape_k)
    kinds: List[str]         # "latent" or "source", per generator
    reconstructions: Tensor  # (K, M, C, H, W)
    residuals: Tensor        # (K, M)
    loss: Tensor             # (K, M)
    steps: int               # the larger of the two runs'
    restarts: int
    redrawn: int

    @property
    def best(self) -> Tensor:
        """Index of the generator with the smallest residual, per image (M,)."""
        return self.residuals.argmin(dim=0)

    def select(self, index) -> "MixedInversion":
        """The same inversion restricted to some images (``index`` along M: a slice or indices)."""
        return MixedInversion([v[index] for v in self.variables], self.kinds, self.reconstructions[:, index],
                              self.residuals[:, index], self.loss[:, index], self.steps, self.restarts, self.redrawn)


Inversion = Union[LatentInversion, SourceInversion, MixedInversion]


def invert_any(generators: Generators, images: Tensor, *, source_kwargs: Optional[Mapping[str, Any]] = None,
               **invert_kwargs: Any) -> Inversion:
    """Invert ``images`` under latent and image-conditioned generators alike.

    All latent: exactly :func:`~.invert.invert`'s result; all image-conditioned: exactly
    :func:`~.source.invert_sources`'s; a mix: a :class:`MixedInversion` in the generators' order.
    """
    gens = as_generator_list(generators)
    kinds = [generator_kind(g, f"generators[{i}]") for i, g in enumerate(gens)]
    shared = {key: v for key, v in invert_kwargs.items() if key in SHARED}
    latent_idx = [i for i, kind in enumerate(kinds) if kind == LATENT]
    source_idx = [i for i, kind in enumerate(kinds) if kind == SOURCE]
    src = None
    if source_idx:
        own = _source_settings(dict(source_kwargs or {}), source_idx, len(gens))
        src = invert_sources([gens[i] for i in source_idx], images, **{**shared, **own})
        if not latent_idx:
            return src
    lat = invert([gens[i] for i in latent_idx], images, **invert_kwargs)
    if src is None:
        return lat
    return _merge(gens, kinds, latent_idx, lat, source_idx, src)


def _source_settings(kwargs: dict, source_idx: List[int], k: int) -> dict:
    """Per-generator sequences given for all K generators cut down to the image-conditioned ones."""
    for key in PER_GENERATOR:
        value = kwargs.get(key)
        if value is not None and not callable(value) and len(value) == k != len(source_idx):
            kwargs[key] = [value[i] for i in source_idx]
    return kwargs


def _latent_of(lat: LatentInversion, j: int, generator: nn.Module) -> Tensor:
    """Generator j's kept latents: z cut to its own size (a W or W+ variable is kept as found)."""
    latents = lat.latents[j]
    return latents[:, : generator.latent_dim] if lat.space == "z" else latents


def _merge(gens, kinds, latent_idx, lat: LatentInversion, source_idx, src: SourceInversion) -> MixedInversion:
    """The two runs' results, generator by generator in the order given."""
    where = {i: (lat, j) for j, i in enumerate(latent_idx)}
    where.update({i: (src, j) for j, i in enumerate(source_idx)})
    variables = [_latent_of(lat, where[i][1], gens[i]) if kinds[i] == LATENT else src.sources[where[i][1]]
                 for i in range(len(gens))]

    def stack(field: str) -> Tensor:
        device = lat.residuals.device
        return torch.stack([getattr(where[i][0], field)[where[i][1]].to(device) for i in range(len(gens))])

    return MixedInversion(variables, kinds, stack("reconstructions"), stack("residuals"), stack("loss"),
                          max(lat.steps, src.steps), max(lat.restarts, src.restarts), lat.redrawn)
