"""Inversion of image-conditioned generators: x* = argmin_{x ∈ [0,1]} ‖G(x) − y‖²/P + λ_tv·TV(x) + λ·term.

The source-domain counterpart of :func:`~.invert.invert`: the variable is the generator's input
image (an edge map for pix2pix, a low-resolution image for SRGAN) instead of a latent, kept in the
box [0, 1] by the optimiser's projection, and moved by Adam. Restarts × generators × images are
the rows of one :func:`~robustgan.optim.optimize` run (:class:`~.conditioned.Sources` routes each
row to its generator, whatever its source shape); sample ``s = k·M + m`` is image ``m`` under
generator ``k`` and restart ``r`` of it is row ``r·K·M + s``. Restart ``r``'s uniform start depends
only on ``seed`` and ``r``; with an ``init`` for a generator its restart 0 starts there instead.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...optim import Adam, Box, optimize
from ...optim.freeze import frozen
from ...validation import check_images
from .conditioned import Shape, Sources, SourceTerm, check_shape, source_shape_of, source_tv
from .invert import Generators, PixelMSE, as_generator_list, check_budget, device_of, over_chunks, pixel_residuals

Init = Callable[[Tensor], Tensor]  # images (M, C, H, W) -> starting sources (M, *source_shape)
PerGenerator = Union[None, Callable, Sequence[Optional[Callable]]]
InitEntry = Union[None, Init, Sequence[Init]]  # one start (restart 0), or one per restart 0, 1, ...


@dataclass
class SourceInversion:
    """Per generator k and image m: the kept source, its reconstruction and its residual.

    ``residuals`` is the mean squared pixel error ‖G(x*) − y‖²/P, whatever the objective (the
    priors only guide the search); ``loss`` is the objective's value. ``sources[k]`` is
    (M, *source_shape_k): a list, as the generators' sources may differ in shape.
    """

    sources: List[Tensor]
    reconstructions: Tensor  # (K, M, C, H, W)
    residuals: Tensor        # (K, M)
    loss: Tensor             # (K, M)
    steps: int
    restarts: int
    redrawn: int = 0         # nothing is re-drawn here; kept so the attribution report reads both kinds alike

    @property
    def best(self) -> Tensor:
        """Index of the generator with the smallest residual, per image (M,)."""
        return self.residuals.argmin(dim=0)

    def select(self, index) -> "SourceInversion":
        """The same inversion restricted to some images (``index`` along M: a slice or indices)."""
        return SourceInversion([s[index] for s in self.sources], self.reconstructions[:, index],
                               self.residuals[:, index], self.loss[:, index], self.steps, self.restarts, self.redrawn)


def resized(shape: Sequence[int], mode: str = "bicubic") -> Init:
    """A starting point for a low-resolution source: the image resized (antialiased) to ``shape``'s
    H×W, its channels averaged when the source has one channel and the image more."""
    c, h, w = check_shape(shape, "shape")

    def init(y: Tensor) -> Tensor:
        if c == 1 and y.shape[1] > 1:
            y = y.mean(dim=1, keepdim=True)
        if y.shape[1] != c:
            raise ValueError(f"cannot make {c}-channel sources from {y.shape[1]}-channel images")
        return F.interpolate(y, size=(h, w), mode=mode, antialias=True, align_corners=False).clamp(0, 1)

    return init


def per_generator(value: PerGenerator, k: int, name: str) -> List[Optional[Callable]]:
    """One entry per generator: a single callable (for all of them), None, or a sequence of K."""
    if value is None or callable(value):
        return [value] * k
    items = list(value)
    if len(items) != k or not all(v is None or callable(v) for v in items):
        raise ValueError(f"{name} must be a callable, None, or a sequence of {k} callables or None")
    return items


def per_restart_inits(value, k: int, restarts: int) -> List[List[Init]]:
    """Per generator the starts of its first restarts: ``init`` as a callable, None, K entries,
    and an entry may itself be a sequence of callables (restart r starts from its r-th)."""
    if value is None or callable(value):
        value = [value] * k
    items = list(value)
    if len(items) != k:
        raise ValueError(f"init must be a callable, None, or a sequence of {k} entries (one per generator)")
    out = []
    for i, v in enumerate(items):
        starts = [] if v is None else [v] if callable(v) else list(v)
        if not all(callable(f) for f in starts):
            raise ValueError(f"init of generator {i} must be a callable, None, or a sequence of callables")
        if len(starts) > restarts:
            raise ValueError(f"init of generator {i} gives {len(starts)} starts but there are {restarts} restart(s)")
        out.append(starts)
    return out


def invert_sources(
    generators: Generators,
    images: Tensor,
    *,
    source_shapes: Optional[Sequence[Optional[Sequence[int]]]] = None,
    restarts: int = 4,
    steps: int = 300,
    lr: float = 0.05,
    tv_weight: float = 0.0,
    init: Union[InitEntry, Sequence[InitEntry]] = None,
    source_term: PerGenerator = None,
    source_weight: float = 1.0,
    seed: int = 0,
    chunk: Optional[int] = None,
    progress: bool = False,
) -> SourceInversion:
    """Invert every image under every image-conditioned generator in one batched run (per chunk of images).

    Args:
        generators: one module or K, each mapping sources (N, *source_shape) in [0, 1] to images
            (N, C, H, W) in [0, 1]; all make images of the shape of ``images``.
        images: (M, C, H, W) in [0, 1].
        source_shapes: per generator its source shape, or None to read its attribute ``source_shape``.
        restarts: starts per (generator, image), the best kept; steps, lr: Adam on the source.
        tv_weight: λ_tv of the prior TV²(x)/P′ on the source (piecewise-smooth sources).
        init: ``init(images) -> sources`` per generator (or one for all; None: uniform starts), e.g.
            :func:`resized` for super-resolution; it sets restart 0, clamped into [0, 1]. A
            generator's entry may be a sequence of such callables: restart r starts from the r-th.
        source_term, source_weight: optional ``term(sources, images) -> (rows,)`` per generator, added
            with weight λ (e.g. :func:`~.conditioned.operator_consistency` with an edge detector).
        seed: the uniform starts; chunk: images per batched run (rows per run = restarts · K · chunk).
    """
    gens = as_generator_list(generators)
    k = len(gens)
    given = [None] * k if source_shapes is None else list(source_shapes)
    if len(given) != k:
        raise ValueError(f"{k} generators but {len(given)} source shapes")
    shapes = [source_shape_of(g, s, f"generators[{i}]") for i, (g, s) in enumerate(zip(gens, given))]
    check_images(images)
    check_budget(restarts, steps, lr)
    if not tv_weight >= 0 or not source_weight >= 0:
        raise ValueError(f"tv_weight and source_weight must be >= 0, got {tv_weight} and {source_weight}")
    inits, terms = per_restart_inits(init, k, restarts), per_generator(source_term, k, "source_term")
    _check_outputs(gens, shapes, images)
    parts = over_chunks(images, chunk, seed, device_of(gens[0]), progress, "invert sources", lambda x, s: _invert_chunk(
        gens, shapes, x, restarts, steps, lr, tv_weight, inits, terms, source_weight, s, progress))
    sources = [torch.cat([p[0][i] for p in parts]) for i in range(k)]
    recon, loss = (torch.cat([p[i] for p in parts], dim=1) for i in (1, 2))
    return SourceInversion(sources, recon, pixel_residuals(recon, images), loss, steps, restarts)


def _check_outputs(gens: List[nn.Module], shapes: List[Shape], images: Tensor) -> None:
    """Each generator maps one source of its declared shape to one image of the images' shape."""
    for i, (g, shape) in enumerate(zip(gens, shapes)):
        probe = torch.full((1, *shape), 0.5, dtype=images.dtype, device=device_of(g))
        try:
            with torch.no_grad(), frozen([g]):
                out = g(probe)
        except Exception as e:  # a wrong source shape surfaces as whatever the first layer raises
            raise ValueError(f"generators[{i}] does not take sources of shape {shape}: {e}") from e
        if not isinstance(out, Tensor) or tuple(out.shape[1:]) != tuple(images.shape[1:]):
            raise ValueError(f"generators[{i}] maps sources {shape} to {tuple(getattr(out, 'shape', ()))[1:]}, "
                             f"but the images are {tuple(images.shape[1:])}")


def _starts(param: Sources, inits: List[List[Init]], x: Tensor, restarts: int, seed: int) -> Tensor:
    """Restart blocks of U(0, 1) rows drawn one after another (block r is the same whatever the number
    of restarts); a generator's r-th ``init`` starts its restart r from ``init(images)``."""
    gen = torch.Generator().manual_seed(seed)
    k, m = len(param.generators), x.shape[0]
    blocks = [torch.rand(k * m, param.latent_dim, generator=gen, dtype=x.dtype).to(x.device)
              for _ in range(restarts)]
    for i, starts in enumerate(inits):
        for r, fn in enumerate(starts):
            with torch.no_grad():
                x0 = fn(x)
            if not isinstance(x0, Tensor) or not bool(torch.isfinite(x0).all()):
                raise ValueError(f"init of generator {i} must return finite sources")
            rows = slice(i * m, (i + 1) * m)
            blocks[r][rows] = param.flatten(x0.to(blocks[r]).clamp(0, 1), i, fill=blocks[r][rows])
    return torch.cat(blocks)


def _invert_chunk(gens, shapes, x, restarts, steps, lr, tv_weight, inits, terms, source_weight, seed, progress):
    k, m = len(gens), x.shape[0]
    param = Sources(gens, torch.arange(k, device=x.device).repeat_interleave(m), shapes)
    objective = PixelMSE()
    if tv_weight > 0:
        objective = objective + tv_weight * SourceTerm(param, [source_tv] * k, "TV(x)/P′")
    if source_weight > 0 and any(t is not None for t in terms):
        objective = objective + source_weight * SourceTerm(param, terms)
    x0 = _starts(param, inits, x, restarts, seed)
    n = k * m
    res = optimize(nn.Identity(), x0[:n], objective, step=Adam(lr), steps=steps, constraint=Box(0.0, 1.0),
                   origin=x.repeat(k, 1, 1, 1), parametrization=param, restarts=restarts,
                   init=lambda _o, _r, _g: x0, progress=progress, desc="invert sources")
    sources = [param.unflatten(res.variable[i * m:(i + 1) * m], i) for i in range(k)]
    return sources, res.x.reshape(k, m, *x.shape[1:]), res.loss.reshape(k, m)
