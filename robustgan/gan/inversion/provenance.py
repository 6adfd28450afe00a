"""The attribution experiment: K generators' own samples plus real images, a threshold from held-out real images.

Test images: ``num_generated`` fresh samples of every generator (true source k) and real images
(true source "none"). The threshold comes from *other* real images (held out, never tested) at
the chosen false-positive rate. Everything — test and calibration images under every
generator, all restarts — is inverted in one batched run per chunk (one per kind of generator:
latent and image-conditioned ones may be mixed, see :mod:`.mixed`; an image-conditioned
generator's samples are made from given sources, or from uniform random ones).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence

import torch
from torch import Tensor, nn

from ...optim.freeze import frozen
from ...validation import check_images
from ..metrics import generate
from .attribute import NONE, Attribution, calibrate_threshold, decide, residual_quantiles, summarize
from .conditioned import source_shape_of
from .invert import as_generator_list, device_of
from .mixed import SOURCE, Inversion, generator_kind, invert_any


@dataclass
class AttributionRun:
    """The report (plain data, JSON-ready) with the tensors behind it."""

    report: Dict[str, Any]
    images: Tensor          # (M, C, H, W) test images
    truth: Tensor           # (M,) generator index or NONE
    attribution: Attribution
    inversion: Inversion  # of the test images (calibration images dropped)


def attribute_images(generators, images: Tensor, threshold: float, **invert_kwargs) -> Attribution:
    """Decide the source of each image (generator index or NONE) at a given threshold; latent and
    image-conditioned generators alike (``invert_kwargs`` as for :func:`~.mixed.invert_any`)."""
    return decide(invert_any(generators, images, **invert_kwargs).residuals, threshold)


def calibrate(generators, held_out: Tensor, fpr: float, **invert_kwargs) -> float:
    """The threshold on the smallest residual that lets a fraction ≤ ``fpr`` of ``held_out`` through."""
    return calibrate_threshold(invert_any(generators, held_out, **invert_kwargs).residuals.min(dim=0).values, fpr)


def generator_samples(generator: nn.Module, n: int, seed: int = 0, sources: Optional[Tensor] = None) -> Tensor:
    """``n`` images in [0, 1] a generator makes: from its latent prior, or, for an image-conditioned
    one, from the first ``n`` of ``sources`` (default: sources drawn uniformly from [0, 1] with ``seed``)."""
    if generator_kind(generator) != SOURCE:
        if sources is not None:
            raise ValueError("sources are for image-conditioned generators; this one takes latents")
        return generate(generator, n, seed=seed)
    shape = source_shape_of(generator)
    if sources is None:
        sources = torch.rand(n, *shape, generator=torch.Generator().manual_seed(seed))
    elif sources.shape[0] < n or tuple(sources.shape[1:]) != shape:
        raise ValueError(f"need at least {n} sources of shape {shape}, got {tuple(sources.shape)}")
    with torch.no_grad(), frozen([generator]):
        return generator(sources[:n].to(device_of(generator))).cpu()


def attribution_experiment(
    generators: Sequence[nn.Module],
    real: Tensor,
    calibration: Tensor,
    *,
    names: Optional[Sequence[str]] = None,
    num_generated: int = 100,
    fpr: float = 0.05,
    seed: int = 0,
    inverter: Optional[Callable[..., Inversion]] = None,
    sources: Optional[Sequence[Optional[Tensor]]] = None,
    **invert_kwargs: Any,
) -> AttributionRun:
    """Attribute ``num_generated`` samples of each generator and the ``real`` images; calibrate on ``calibration``.

    ``invert_kwargs`` go to :func:`~.mixed.invert_any` (restarts, steps, lr, clip, chunk, source_kwargs, …).
    ``inverter`` (same arguments) stands in for it: the CLI's runs the inversion unit by unit, resumably
    and spread over the processes of a ``torchrun`` launch. ``sources``: per generator, the sources an
    image-conditioned one makes its test images from (None: uniform random sources).
    """
    gens = as_generator_list(generators)
    names = list(names) if names is not None else [f"G{i}" for i in range(len(gens))]
    if len(names) != len(gens):
        raise ValueError(f"{len(gens)} generators but {len(names)} names")
    if num_generated < 0:
        raise ValueError(f"num_generated must be >= 0, got {num_generated}")
    check_images(calibration, "calibration")
    if real.shape[0]:
        check_images(real, "real")
    sources = list(sources) if sources is not None else [None] * len(gens)
    if len(sources) != len(gens):
        raise ValueError(f"{len(gens)} generators but {len(sources)} entries in sources")
    fake = [generator_samples(g, num_generated, seed + 7919 * (i + 1), s)
            for i, (g, s) in enumerate(zip(gens, sources))] if num_generated else []
    images = torch.cat([*fake, real.cpu()]) if fake else real.cpu()
    if images.shape[0] == 0:
        raise ValueError("nothing to attribute: num_generated is 0 and there are no real images")
    truth = torch.cat([torch.full((num_generated,), i, dtype=torch.long) for i in range(len(gens))]
                      + [torch.full((real.shape[0],), NONE, dtype=torch.long)])
    t0 = time.perf_counter()
    inv = (inverter or invert_any)(gens, torch.cat([images, calibration.cpu()]), seed=seed, **invert_kwargs)
    seconds = time.perf_counter() - t0
    m = images.shape[0]
    residuals = inv.residuals.cpu()
    threshold = calibrate_threshold(residuals[:, m:].min(dim=0).values, fpr)
    att = decide(residuals[:, :m], threshold)
    test_inv = inv.select(slice(0, m))
    report = summarize(att, truth, names)
    report.update({
        "fpr_target": fpr,
        "calibration_images": int(calibration.shape[0]),
        "calibration_fpr": float((residuals[:, m:].min(dim=0).values < threshold).double().mean()),
        "generators": names,
        "inversion": {"restarts": inv.restarts, "steps": inv.steps, "redrawn": inv.redrawn, "seconds": round(seconds, 2),
                      "rows": inv.restarts * len(gens) * (m + calibration.shape[0]),
                      **{k: v for k, v in invert_kwargs.items() if isinstance(v, (int, float, str, type(None)))}},
        "residual_quantiles": _quantiles(att, truth, names),
        "images": _per_image(att, truth, names),
    })
    return AttributionRun(report, images, truth, att, test_inv)


def _quantiles(att: Attribution, truth: Tensor, names: List[str]) -> Dict[str, Dict[str, float]]:
    """Residuals under the true generator, under the others, and the smallest residual of real images."""
    out: Dict[str, Dict[str, float]] = {}
    gen = truth != NONE
    if gen.any():
        idx = gen.nonzero().squeeze(1)
        own = att.residuals[truth[idx], idx]
        other = torch.cat([att.residuals[k, idx[truth[idx] != k]] for k in range(len(names))])
        out["generated_under_own_generator"] = residual_quantiles(own)
        out["generated_under_other_generators"] = residual_quantiles(other)
    if (~gen).any():
        out["real_smallest_residual"] = residual_quantiles(att.score[~gen])
    return out


def _per_image(att: Attribution, truth: Tensor, names: List[str]) -> List[Dict[str, Any]]:
    label = lambda i: "none" if i == NONE else names[i]  # noqa: E731
    return [{"index": j, "source": label(int(truth[j])), "decision": label(int(att.decision[j])),
             "residuals": {names[k]: float(att.residuals[k, j]) for k in range(len(names))}}
            for j in range(truth.shape[0])]
