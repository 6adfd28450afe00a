"""Post-processing an analyst meets (JPEG re-encoding, resizing, noise), and attribution under it.

A generated image rarely reaches an analyst as the generator wrote it: sites re-encode it as JPEG,
scale it, add noise. Each transform here maps [0, 1] images (N, C, H, W) to [0, 1] images of the
same shape, dtype and device, deterministically (the noise from its own seed), and
:func:`attribution_under_postprocessing` measures how provenance attribution holds up under each.
"""
from __future__ import annotations

import io
import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..validation import check_images
from .inversion.attribute import NONE, calibrate_threshold, decide, summarize
from .inversion.invert import as_generator_list
from .inversion.mixed import invert_any


class Transform:
    """A named map of [0, 1] images to [0, 1] images of the same shape, dtype and device."""

    name = "none"

    def __call__(self, images: Tensor) -> Tensor:
        return check_images(images).clone()

    def __repr__(self) -> str:
        return self.name


def _to_uint8(images: Tensor) -> Tensor:
    return (check_images(images).detach().cpu().float() * 255).round().clamp(0, 255).to(torch.uint8)


class JPEG(Transform):
    """Re-encoding as a JPEG of ``quality`` (libjpeg through Pillow, its default 4:2:0 chroma
    subsampling: what a site's re-save does; exact and deterministic).

    Pixels are rounded to 8 bits first, as a saved file would be; three channels are encoded as one
    colour image, any other count channel by channel as greyscale images.
    """

    def __init__(self, quality: int):
        if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
            raise ValueError(f"JPEG quality must be an integer in [1, 100], got {quality!r}")
        self.quality, self.name = quality, f"jpeg{quality}"

    def __call__(self, images: Tensor) -> Tensor:
        u8 = _to_uint8(images)
        n, c, h, w = u8.shape
        planes = u8.permute(0, 2, 3, 1).numpy() if c == 3 else u8.reshape(n * c, h, w).numpy()
        out = torch.from_numpy(np.stack([self._round_trip(p) for p in planes]))
        out = out.permute(0, 3, 1, 2) if c == 3 else out.reshape(n, c, h, w)
        return (out.float() / 255).to(images.device, images.dtype)

    def _round_trip(self, plane: np.ndarray) -> np.ndarray:
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(plane).save(buf, format="JPEG", quality=self.quality)
        return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB" if plane.ndim == 3 else "L"))


class Resize(Transform):
    """Down by ``factor`` (antialiased) and back up to the original size: the detail a thumbnail loses."""

    def __init__(self, factor: float, mode: str = "bilinear"):
        if not 0 < factor <= 1:
            raise ValueError(f"resize factor must be in (0, 1], got {factor}")
        if mode not in ("bilinear", "bicubic"):
            raise ValueError(f"resize mode must be 'bilinear' or 'bicubic', got {mode!r}")
        self.factor, self.mode, self.name = float(factor), mode, f"resize{factor:g}"

    def __call__(self, images: Tensor) -> Tensor:
        h, w = check_images(images).shape[-2:]
        size = (max(1, round(h * self.factor)), max(1, round(w * self.factor)))
        small = F.interpolate(images, size=size, mode=self.mode, antialias=True, align_corners=False)
        return F.interpolate(small, size=(h, w), mode=self.mode, align_corners=False).clamp(0, 1)


class GaussianNoise(Transform):
    """x + σ·ε, ε ~ N(0, I) drawn on the CPU from ``seed`` (same seed and shape, same noise on every
    device), clamped to [0, 1]."""

    def __init__(self, sigma: float, seed: int = 0):
        if not sigma >= 0:
            raise ValueError(f"noise sigma must be >= 0, got {sigma}")
        self.sigma, self.seed, self.name = float(sigma), int(seed), f"noise{sigma:g}"

    def __call__(self, images: Tensor) -> Tensor:
        eps = torch.randn(check_images(images).shape, generator=torch.Generator().manual_seed(self.seed))
        return (images + self.sigma * eps.to(images.device, images.dtype)).clamp(0, 1)


POSTPROCESSING: Dict[str, Transform] = {t.name: t for t in (
    Transform(), JPEG(95), JPEG(75), JPEG(50), Resize(0.75), Resize(0.5), GaussianNoise(0.01), GaussianNoise(0.02),
    GaussianNoise(0.05))}

_PATTERN = re.compile(r"^(jpeg|resize|noise)(\d+(?:\.\d+)?)$")


def postprocessing(name: str) -> Transform:
    """A transform by name: one of :data:`POSTPROCESSING`, or ``jpegQ``, ``resizeF``, ``noiseS`` for other values."""
    if name in POSTPROCESSING:
        return POSTPROCESSING[name]
    match = _PATTERN.match(name)
    if match is None:
        raise ValueError(f"unknown post-processing {name!r}: use one of {', '.join(POSTPROCESSING)}, "
                         "or jpegQ, resizeF, noiseS")
    kind, value = match.groups()
    return JPEG(int(float(value))) if kind == "jpeg" else Resize(float(value)) if kind == "resize" else \
        GaussianNoise(float(value))


Transforms = Union[None, Sequence[str], Mapping[str, Callable[[Tensor], Tensor]]]


def _transform_table(transforms: Transforms) -> Dict[str, Callable[[Tensor], Tensor]]:
    if transforms is None:
        return dict(POSTPROCESSING)
    if isinstance(transforms, Mapping):
        table = dict(transforms)
    else:
        table = {t.name: t for t in map(postprocessing, transforms)}
    if not table or not all(callable(t) for t in table.values()):
        raise ValueError("transforms must name at least one post-processing (or map names to callables)")
    return table


def _test_images(images_by_source: Sequence[Optional[Tensor]], real: Tensor, k: int):
    """The generated images of every generator then the real ones, with each image's true source."""
    if len(images_by_source) != k:
        raise ValueError(f"{k} generators but {len(images_by_source)} entries in images_by_source")
    parts = [(x, i) for i, x in enumerate(images_by_source) if x is not None and x.shape[0]]
    parts += [(real, NONE)] if real.shape[0] else []
    if not parts:
        raise ValueError("nothing to attribute: no generated and no real images")
    for x, i in parts:
        check_images(x, "real_images" if i == NONE else f"images_by_source[{i}]")
    images = torch.cat([x.cpu() for x, _ in parts])
    truth = torch.cat([torch.full((x.shape[0],), i, dtype=torch.long) for x, i in parts])
    return images, truth


def attribution_under_postprocessing(
    generators: Union[nn.Module, Sequence[nn.Module]],
    images_by_source: Sequence[Optional[Tensor]],
    real_images: Tensor,
    calibration_images: Tensor,
    fpr: float = 0.05,
    transforms: Transforms = None,
    *,
    names: Optional[Sequence[str]] = None,
    **invert_kwargs: Any,
) -> List[Dict[str, Any]]:
    """One row per transform: attribution accuracy on the generated images and the share of real
    images called "none of these", after the transform.

    ``images_by_source[k]`` are images generator k made (None or empty: none of its). The
    threshold is calibrated once, for ``fpr``, on the *clean* held-out ``calibration_images`` and
    kept for every transform: the analyst calibrates on the real images they have and meets
    post-processed ones later, so the rows show how both rates drift away from the clean
    operating point (the real images' false-positive rate included). Every transformed image and
    the calibration images are inverted in one batched run (``invert_kwargs`` as for
    :func:`~.inversion.mixed.invert_any`; latent and image-conditioned generators may be mixed).
    """
    gens = as_generator_list(generators)
    names = list(names) if names is not None else [f"G{i}" for i in range(len(gens))]
    table = _transform_table(transforms)
    images, truth = _test_images(images_by_source, real_images, len(gens))
    check_images(calibration_images, "calibration_images")
    processed = [check_images(t(images), f"the output of transform {name!r}") for name, t in table.items()]
    inv = invert_any(gens, torch.cat([*processed, calibration_images.cpu()]), **invert_kwargs)
    residuals, n = inv.residuals.cpu(), images.shape[0]
    held_out = residuals[:, len(table) * n:].min(dim=0).values
    threshold = calibrate_threshold(held_out, fpr)
    rows = []
    for j, name in enumerate(table):
        att = decide(residuals[:, j * n:(j + 1) * n], threshold)
        report = summarize(att, truth, names)
        rows.append({"transform": name, "threshold": threshold, "fpr_target": fpr,
                     "calibration_fpr": float((held_out < threshold).double().mean()),
                     **{key: report[key] for key in ("generated_images", "real_images", "accuracy_generated",
                                                     "argmin_accuracy_generated", "real_labelled_none", "auc")
                        if key in report},
                     **_median_scores(att.score, truth)})
    return rows


def _median_scores(score: Tensor, truth: Tensor) -> Dict[str, float]:
    """The median smallest residual of the generated and of the real images: how near the threshold they sit."""
    out = {}
    for key, where in (("median_score_generated", truth != NONE), ("median_score_real", truth == NONE)):
        if bool(where.any()):
            out[key] = float(score[where].median())
    return out
