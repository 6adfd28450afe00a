"""Activation maximisation: what excites a unit, a channel or a random direction of a layer?

Two answers side by side, as in Szegedy et al. (2013), who found that the images maximising a
*random direction* of a layer look as semantically coherent as those maximising a natural-basis
unit: (1) synthesis — ascend the activation from a grey start with :func:`robustgan.optim.optimize`
(optionally through jitter / random-scale transforms and a decorrelated Fourier parametrisation,
Olah et al. 2017), one image per probe in one batched run; (2) retrieval — the dataset images with
the highest activation.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from ..objectives import Channel, Direction, Objective, TotalVariation, Unit, mahendran_normalizers
from ..objectives.features import _LayerObjective
from ..optim import Adam, Box, Fourier, Pixels, optimize
from .layers import UpTo, features_of
from .transforms import standard_transforms

KINDS = ("unit", "channel", "direction")


def make_probe(layer: str, kind: str, indices: Optional[Sequence[int]] = None,
               directions: Optional[Tensor] = None) -> _LayerObjective:
    """One probe per sample: units or channels by index, or directions (rows of ``directions``)."""
    if kind == "unit":
        return Unit(layer, torch.as_tensor(list(indices), dtype=torch.long))
    if kind == "channel":
        return Channel(layer, torch.as_tensor(list(indices), dtype=torch.long))
    if kind == "direction":
        if directions is None or directions.dim() < 2:
            raise ValueError("kind='direction' needs a (P, ...) tensor of directions, one per probe")
        return Direction(layer, directions)
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def probe_values(probe: _LayerObjective, features: Tensor, n_probes: int) -> Tensor:
    """(P, M): the value of each of the P probes on each of M activations of the probe's layer."""
    m = features.shape[0]
    return torch.stack([probe.value(features, torch.full((m,), p, dtype=torch.long, device=features.device))
                        for p in range(n_probes)])


@dataclass
class TopImages:
    """Per probe: the dataset indices and values of the k highest activations, and the maximum."""

    indices: Tensor  # (P, k)
    values: Tensor  # (P, k)
    images: Tensor  # (P, k, C, H, W)
    maximum: Tensor  # (P,)


def top_dataset_images(model: nn.Module, images: Tensor, probe: _LayerObjective, n_probes: int, k: int = 9,
                       batch_size: int = 500) -> TopImages:
    """The ``k`` images of ``images`` that maximise each probe (one forward pass over the data)."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if probe.layer is None:
        raise ValueError("retrieval needs a probe on a named layer")
    values = []
    for i in range(0, images.shape[0], batch_size):
        feats = features_of(model, images[i:i + batch_size], [probe.layer])[probe.layer]
        values.append(probe_values(probe, feats, n_probes))
    values = torch.cat(values, dim=1)
    top = values.topk(min(k, values.shape[1]), dim=1)
    return TopImages(top.indices, top.values, images[top.indices.cpu()].to(images.device), values.max(dim=1).values)


@dataclass
class MaximizeResult:
    """Synthesised inputs (one per probe), their activations before and after, and the retrieval."""

    layer: str
    kind: str
    labels: List[str]
    x: Tensor
    activation: Tensor
    start_activation: Tensor
    trace: List[float] = field(default_factory=list)
    top: Optional[TopImages] = None

    def summary(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"layer": self.layer, "kind": self.kind, "probes": []}
        for i, label in enumerate(self.labels):
            row = {"probe": label, "start_activation": float(self.start_activation[i]),
                   "synthesised_activation": float(self.activation[i])}
            if self.top is not None:
                row.update(dataset_max=float(self.top.maximum[i]), top_indices=self.top.indices[i].tolist(),
                           top_values=self.top.values[i].tolist(),
                           synthesis_exceeds_dataset=bool(self.activation[i] > self.top.maximum[i]))
            out["probes"].append(row)
        return out


def synthesize(model: nn.Module, probe: _LayerObjective, n_probes: int, image_shape: Tuple[int, int, int], *,
               steps: int = 200, step_size: float = 0.05, parametrization: str = "pixels",
               jitter: int = 0, scales: Optional[Sequence[float]] = None, tv: float = 0.0,
               noise: float = 0.1, pre_activation: bool = True, seed: int = 0, device="cpu",
               progress: bool = False) -> Tuple[Tensor, Tensor, List[float]]:
    """Ascend ``probe`` from a mid-grey start (plus seeded Gaussian noise); returns (images, starts, trace).

    With ``pre_activation`` and a unit or channel probe on an ``nn.ReLU``, the ReLU's *input* is
    ascended: relu is monotone, so the same images win once the unit is on, and a unit that is
    silent at the start still has a gradient.
    """
    on_relu = isinstance(dict(model.named_modules()).get(probe.layer or ""), nn.ReLU)
    if pre_activation and on_relu and isinstance(probe, (Unit, Channel)):
        model = UpTo(model, probe.layer, before=True)
        probe = copy.copy(probe)
        probe.layer, probe.layers = None, frozenset()
    if parametrization not in ("pixels", "fourier"):
        raise ValueError(f"parametrization must be 'pixels' or 'fourier', got {parametrization!r}")
    if tv < 0:
        raise ValueError(f"tv must be >= 0, got {tv}")
    gen = torch.Generator().manual_seed(seed)
    start = (0.5 + noise * torch.randn((n_probes, *image_shape), generator=gen)).clamp(0, 1).to(device)
    objective: Objective = -probe
    if tv:
        objective = objective + tv * TotalVariation(2.0, mahendran_normalizers(image_shape, 1.0, 2.0)[1])
    transform = standard_transforms(jitter, scales, seed)
    fourier = parametrization == "fourier"
    res = optimize(model, start, objective, step=Adam(step_size), steps=steps,
                   constraint=None if fourier else Box(0, 1), parametrization=Fourier() if fourier else Pixels(),
                   transform=transform, keep="last" if transform is not None else "best",
                   progress=progress, desc="maximise")
    return res.x, start, res.trace


def maximize_activation(model: nn.Module, layer: str, *, kind: str = "channel",
                        indices: Optional[Sequence[int]] = None, n_directions: int = 4,
                        image_shape: Tuple[int, int, int] = (1, 28, 28), dataset: Optional[Tensor] = None,
                        top_k: int = 9, seed: int = 0, device="cpu", progress: bool = False,
                        **synth_kwargs: Any) -> MaximizeResult:
    """Synthesise (and, given ``dataset``, retrieve) the inputs that maximise probes of ``layer``.

    ``kind='unit'`` or ``'channel'`` with ``indices`` (default: the first 8); ``kind='direction'``
    draws ``n_directions`` random unit directions in the layer's channel space from ``seed``.
    Extra keyword arguments go to :func:`synthesize` (steps, step_size, parametrization, jitter,
    scales, tv, noise, pre_activation).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    example = torch.full((1, *image_shape), 0.5, device=device)
    shape = tuple(features_of(model, example, [layer])[layer].shape[1:])
    channels = shape[0]
    directions = None
    if kind == "direction":
        if n_directions < 1:
            raise ValueError(f"n_directions must be >= 1, got {n_directions}")
        gen = torch.Generator().manual_seed(seed)
        directions = torch.randn(n_directions, channels, generator=gen)
        directions = directions / directions.norm(dim=1, keepdim=True)
        labels = [f"direction {i}" for i in range(n_directions)]
        n = n_directions
    else:
        size = channels if kind == "channel" else int(torch.tensor(shape).prod())
        indices = list(range(min(8, size))) if indices is None else [int(i) for i in indices]
        if not indices or min(indices) < 0 or max(indices) >= size:
            raise ValueError(f"{kind} indices must lie in [0, {size - 1}], got {indices}")
        labels = [f"{kind} {i}" for i in indices]
        n = len(indices)
    probe = make_probe(layer, kind, indices, directions)
    x, start, trace = synthesize(model, probe, n, image_shape, seed=seed, device=device, progress=progress,
                                 **synth_kwargs)
    act = probe_values(probe, features_of(model, x, [layer])[layer], n).diagonal()
    act0 = probe_values(probe, features_of(model, start, [layer])[layer], n).diagonal()
    top = top_dataset_images(model, dataset.to(device), probe, n, top_k) if dataset is not None else None
    return MaximizeResult(layer, kind, labels, x, act, act0, trace, top)
