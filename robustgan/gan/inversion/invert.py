"""GAN inversion (Creswell & Bharath 2016): z* = argmin_z ‖G(z) − x‖² (+ λ·feature term), by Adam.

A recipe over :func:`robustgan.optim.optimize` with the latent as the parametrisation
(:class:`~robustgan.optim.latent.Latents`): restarts × generators × images are the rows of one
batch, the best restart per (generator, image) is kept, and stochastic clipping (Lipton &
Tripathi 2017) re-draws latent coordinates that leave ``[−clip, clip]``.

``space`` picks the variable: ``"z"`` (any generator), or a style-based generator's ``"w"`` / ``"w+"``
(Image2StyleGAN, :class:`~robustgan.optim.style_latents.StyleLatents`), started from the mean w̄.
Generators with noise inputs run on their fixed noise, so every space inverts the same
deterministic G and the pixel residuals compare across spaces.

Sample ``s = k·M + m`` of the run is image ``m`` under generator ``k``; restart ``r`` of it is row
``r·K·M + s``. Restart ``r``'s starting latents and clipping draws depend only on ``seed`` and
``r``, so a run with more restarts contains the runs with fewer: the best residual never rises.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, TypeVar, Union

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from ...objectives import Distance, FeatureMatch, Objective
from ...optim import Adam, optimize
from ...deprecation import renamed_attributes
from ...optim.clipping import StochasticClip, stochastic_clip
from ...optim.freeze import frozen
from ...optim.latent import Latents
from ...optim.style_latents import SPACES as STYLE_SPACES, StyleLatents
from ..style.noise import fixed_noise
from ...validation import check_images

Generators = Union[nn.Module, Sequence[nn.Module]]
T = TypeVar("T")


@dataclass
class LatentInversion:
    """Per generator k and image m: the kept latent, its reconstruction and its residual
    (a GAN's latent found for an image; :class:`robustgan.visualize.FeatureInversion` is the
    image found for a layer's features).

    ``residuals`` is the mean squared pixel error ‖G(z*) − x‖²/P (P pixels per image), whatever
    the objective (a feature term only guides the search); ``loss`` is the objective's value.
    """

    latents: Tensor          # (K, M, D); space "w+": (K, M, num_ws, w_dim) when all generators share it
    reconstructions: Tensor  # (K, M, C, H, W)
    residuals: Tensor        # (K, M)
    loss: Tensor             # (K, M)
    steps: int
    restarts: int
    redrawn: int             # latent coordinates re-drawn by stochastic clipping, over all rows and steps
    space: str = "z"         # the variable: "z", or a style-based generator's "w" / "w+"

    @property
    def best(self) -> Tensor:
        """Index of the generator with the smallest residual, per image (M,)."""
        return self.residuals.argmin(dim=0)

    def select(self, index) -> "LatentInversion":
        """The same inversion restricted to some images (``index`` along M: a slice or indices)."""
        return LatentInversion(self.latents[:, index], self.reconstructions[:, index], self.residuals[:, index],
                               self.loss[:, index], self.steps, self.restarts, self.redrawn, self.space)


def as_generator_list(generators: Generators) -> List[nn.Module]:
    gens = [generators] if isinstance(generators, nn.Module) else list(generators)
    if not gens or not all(isinstance(g, nn.Module) for g in gens):
        raise TypeError("generators must be a generator module or a non-empty sequence of them")
    return gens


class PixelMSE(Objective):
    """‖x − origin‖² / P per row: the reconstruction error of an inversion, per pixel."""

    def __call__(self, ev) -> Tensor:
        return Distance(2, squared=True)(ev) / ev.x[0].numel()

    def __repr__(self) -> str:
        return "‖G(z) − x‖²/P"


def _starts(n: int, restarts: int, dim: int, clip: Optional[float], seed: int, device: torch.device) -> Tensor:
    """Restart blocks drawn one after another from N(0, I) (clipped coordinates re-drawn in the box):
    block r is the same whatever the number of restarts."""
    gen = torch.Generator().manual_seed(seed)
    blocks = []
    for _ in range(restarts):
        z = torch.randn(n, dim, generator=gen)
        blocks.append(z if clip is None else stochastic_clip(z, -clip, clip, gen))
    return torch.cat(blocks).to(device)


def invert(
    generators: Generators,
    images: Tensor,
    *,
    restarts: int = 4,
    steps: int = 300,
    lr: float = 0.2,
    clip: Optional[float] = None,
    feature_model: Optional[nn.Module] = None,
    feature_layer: Optional[str] = None,
    feature_weight: float = 0.0,
    seed: int = 0,
    chunk: Optional[int] = None,
    progress: bool = False,
    space: str = "z",
) -> LatentInversion:
    """Invert every image under every generator in one batched optimisation (per chunk of images).

    Args:
        generators: one unconditional generator or K of them (same image shape; latent sizes may
            differ: the variable has the largest size and each generator reads its first entries).
        images: (M, C, H, W) in [0, 1].
        restarts: random starts per (generator, image); the best is kept.
        steps, lr: Adam steps and step size on z.
        clip: stochastic clipping box ``[−clip, clip]`` for z (Lipton & Tripathi: 1, for a U(−1, 1)
            prior); None = off, the default, since the generators here draw z from N(0, I).
        feature_model, feature_layer, feature_weight: optional extra term
            λ·‖Φ(G(z)) − Φ(x)‖²/‖Φ(x)‖² at a named layer of a (frozen) network.
        seed: starting latents and clipping draws.
        chunk: images per batched run (default: all); rows per run = restarts · K · chunk.
        space: ``"z"`` (the default), or ``"w"`` / ``"w+"`` for style-based generators: restart 0
            starts at w̄, restart r ≥ 1 at w = mapping(z_r); no clipping there (W has no box prior).
    """
    gens = as_generator_list(generators)
    check_images(images)
    check_budget(restarts, steps, lr)
    if clip is not None and not clip > 0:
        raise ValueError(f"clip must be positive or None, got {clip}")
    if space not in ("z", *STYLE_SPACES):
        raise ValueError(f"space must be 'z', 'w' or 'w+', got {space!r}")
    if clip is not None and space != "z":
        raise ValueError(f"stochastic clipping bounds z's prior box; space={space!r} has none (pass clip=None)")
    if feature_weight < 0 or (feature_weight > 0 and feature_model is None):
        raise ValueError("a feature term needs feature_weight > 0 and a feature_model")
    with fixed_noise(gens):
        parts = over_chunks(images, chunk, seed, device_of(gens[0]), progress, "invert", lambda x, s: _invert_chunk(
            gens, x, restarts, steps, lr, clip, feature_model, feature_layer, feature_weight, s, progress, space))
    latents, recon, loss = (torch.cat([p[i] for p in parts], dim=1) for i in range(3))
    return LatentInversion(latents, recon, pixel_residuals(recon, images), loss, steps, restarts,
                           sum(p[3] for p in parts), space)


def check_budget(restarts: int, steps: int, lr: float) -> None:
    """The settings every inversion shares: at least one restart, no negative steps, a positive step size."""
    if restarts < 1 or steps < 0:
        raise ValueError(f"restarts must be >= 1 and steps >= 0, got restarts={restarts}, steps={steps}")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr}")


def device_of(module: nn.Module) -> torch.device:
    """Where a generator's weights live (the CPU for one without any)."""
    first = next(iter(module.parameters()), None)
    return first.device if first is not None else torch.device("cpu")


def over_chunks(images: Tensor, chunk: Optional[int], seed: int, device: torch.device, progress: bool, desc: str,
                run: Callable[[Tensor, int], T]) -> List[T]:
    """``run(x, seed + start)`` for each chunk of images [start, start + chunk), moved to ``device``:
    a chunk's result depends on its images and its first index only."""
    chunk = images.shape[0] if chunk is None else int(chunk)
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    parts = []
    bar = tqdm(total=images.shape[0], desc=desc, disable=not progress, unit="img")
    for start in range(0, images.shape[0], chunk):
        x = images[start:start + chunk].to(device)
        parts.append(run(x, seed + start))
        bar.update(x.shape[0])
    bar.close()
    return parts


def pixel_residuals(reconstructions: Tensor, images: Tensor) -> Tensor:
    """‖G(·) − x‖²/P per (generator, image): reconstructions (K, M, C, H, W) against images (M, C, H, W)."""
    return (reconstructions - images.to(reconstructions.device)[None]).flatten(2).pow(2).mean(dim=2)


def _invert_chunk(gens, x, restarts, steps, lr, clip, feature_model, feature_layer, feature_weight, seed, progress,
                  space):
    k, m = len(gens), x.shape[0]
    assignment = torch.arange(k, device=x.device).repeat_interleave(m)
    param = Latents(gens, assignment) if space == "z" else StyleLatents(gens, assignment, space)
    origin = x.repeat(k, 1, 1, 1)
    objective: Objective = PixelMSE()
    model: nn.Module = nn.Identity()
    if feature_weight > 0:
        model = feature_model
        with torch.no_grad(), frozen([feature_model]):
            from ...optim.taps import tapped

            with tapped(feature_model, [feature_layer] if feature_layer else []) as feats:
                out = feature_model(x)
            target = feats[feature_layer] if feature_layer else out
        objective = objective + feature_weight * FeatureMatch(feature_layer, target.repeat(k, *([1] * (target.dim() - 1))))
    n = k * m
    z0 = _starts(n, restarts, max(g.latent_dim for g in gens), clip, seed, x.device)
    if space != "z":
        z0 = param.initial(z0)
    rule = Adam(lr)
    if clip is not None:
        rule = StochasticClip(rule, -clip, clip, seed=seed)
    res = optimize(
        model, z0[:n], objective, step=rule, steps=steps, origin=origin, parametrization=param,
        restarts=restarts, init=lambda _o, _r, _g: z0, progress=progress, desc="invert",
    )
    redrawn = rule.redrawn if isinstance(rule, StochasticClip) else 0
    shape = getattr(param, "variable_shape", (param.latent_dim,))
    return (res.variable.reshape(k, m, *shape), res.x.reshape(k, m, *x.shape[1:]), res.loss.reshape(k, m), redrawn)


__getattr__ = renamed_attributes(__name__, {
    "InversionResult": ("robustgan.gan.inversion.LatentInversion", LatentInversion),
})
