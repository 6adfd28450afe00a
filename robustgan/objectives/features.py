"""Objectives on a layer's activations: feature matching (inversion), units, channels, directions, energy.

Each reads ``ev.features[layer]`` (the optimiser taps the layers an objective names in ``layers``);
``layer=None`` reads the model's output instead, for a model that already ends at the layer of
interest (e.g. :class:`robustgan.visualize.UpTo`). Activation objectives return the activation as
named; a recipe that *ascends* it negates it (``-Channel("conv2", 3)``).
"""
from __future__ import annotations

from typing import Optional, Union

import torch
from torch import Tensor

from .base import Objective

Index = Union[int, Tensor]


def layer_output(ev, layer: Optional[str]) -> Tensor:
    """The activation an objective looks at: a tapped layer, or the model output when ``layer`` is None."""
    if layer is None:
        return ev.logits
    if layer not in ev.features:
        raise ValueError(f"layer {layer!r} was not tapped; objective layers must be declared in `layers`")
    return ev.features[layer]


def _per_row(value: Index, ev_samples: Tensor, device) -> Tensor:
    """An int for every row, or one value per *sample* gathered per row (restarts share it)."""
    if isinstance(value, Tensor) and value.dim() > 0:
        return value.to(device)[ev_samples]
    return torch.full_like(ev_samples, int(value), device=device)


def _check_index(value: Index, name: str) -> Index:
    if isinstance(value, Tensor):
        if value.is_floating_point() or value.dim() > 1:
            raise TypeError(f"{name} must be an int or a 1-D integer tensor (one per sample)")
        if value.numel() and int(value.min()) < 0:
            raise ValueError(f"{name} must be >= 0")
        return value.long()
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return value


class _LayerObjective(Objective):
    def __init__(self, layer: Optional[str]):
        if layer is not None and not isinstance(layer, str):
            raise TypeError(f"layer must be a module name (str) or None, got {type(layer).__name__}")
        self.layer = layer
        self.layers = frozenset() if layer is None else frozenset({layer})

    def value(self, features: Tensor, samples: Tensor) -> Tensor:
        """The per-row quantity from a batch of this layer's activations (rows belong to ``samples``)."""
        raise NotImplementedError

    def __call__(self, ev) -> Tensor:
        return self.value(layer_output(ev, self.layer), ev.samples)


class FeatureMatch(_LayerObjective):
    """‖Φ(x) − Φ₀‖² / ‖Φ₀‖² per row: Mahendran & Vedaldi's normalised feature reconstruction loss.

    ``target`` holds Φ₀ for each sample (``(N, ...)``) or one Φ₀ shared by all (``(1, ...)``).
    """

    def __init__(self, layer: Optional[str], target: Tensor, eps: float = 1e-12):
        super().__init__(layer)
        if not isinstance(target, Tensor):
            raise TypeError("target must be a tensor of features")
        self.target = target.detach()
        self.eps = eps

    def value(self, features: Tensor, samples: Tensor) -> Tensor:
        t = self.target.to(features.device, features.dtype)
        t = t.expand(samples.shape[0], *t.shape[1:]) if t.shape[0] == 1 else t[samples]
        if t.shape[1:] != features.shape[1:]:
            raise ValueError(f"target features have shape {tuple(t.shape[1:])}, the layer gives {tuple(features.shape[1:])}")
        diff = (features - t).reshape(features.shape[0], -1)
        ref = t.reshape(t.shape[0], -1)
        return (diff * diff).sum(1) / ((ref * ref).sum(1) + self.eps)

    def __repr__(self):
        return f"FeatureMatch({self.layer})"


class _Selected(_LayerObjective):
    """One entry per row of a (rows, K) summary of the layer: entry k, one k for all samples or one
    per sample. Units and channels differ only in the summary, so the selection lives here once."""

    what, plural = "entry", "entries"  # for the out-of-range message

    def __init__(self, layer: Optional[str], which: Index, name: str):
        super().__init__(layer)
        self._which = _check_index(which, name)

    @property
    def selected(self) -> Index:
        """The k of every sample: an int, or a tensor of one per sample."""
        return self._which

    def summary(self, features: Tensor) -> Tensor:
        """(rows, K): the values the selection picks from."""
        raise NotImplementedError

    def value(self, features: Tensor, samples: Tensor) -> Tensor:
        table = self.summary(features)
        idx = _per_row(self._which, samples, features.device)
        if int(idx.max()) >= table.shape[1]:
            raise ValueError(f"{self.what} {int(idx.max())} out of range for a layer with {table.shape[1]} {self.plural}")
        return table.gather(1, idx[:, None]).squeeze(1)

    def __repr__(self):
        return f"{type(self).__name__}({self.layer})"


class Unit(_Selected):
    """One activation of a layer: ``index`` into the flattened per-sample output (an int or one per sample)."""

    what, plural = "unit index", "units"
    index = _Selected.selected

    def summary(self, features: Tensor) -> Tensor:
        return features.reshape(features.shape[0], -1)

    def __init__(self, layer: Optional[str], index: Index):
        super().__init__(layer, index, "index")


class Channel(_Selected):
    """The mean activation of channel ``c`` over all positions (equals the unit for a dense layer)."""

    what, plural = "channel", "channels"
    channel = _Selected.selected

    def summary(self, features: Tensor) -> Tensor:
        return features.reshape(features.shape[0], features.shape[1], -1).mean(2)

    def __init__(self, layer: Optional[str], channel: Index):
        super().__init__(layer, channel, "channel")


class Direction(_LayerObjective):
    """⟨φ(x), v⟩: a direction in a layer's space (Szegedy et al. 2013's random-direction probe).

    ``v`` is shaped like one sample's output (a direction in the whole layer space), or holds one
    value per channel (a direction in channel space, averaged over positions). A leading sample
    dimension gives each sample its own direction.
    """

    def __init__(self, layer: Optional[str], direction: Tensor):
        super().__init__(layer)
        if not isinstance(direction, Tensor) or not direction.is_floating_point():
            raise TypeError("direction must be a float tensor")
        if not bool(torch.isfinite(direction).all()):
            raise ValueError("direction must be finite")
        self.direction = direction.detach()

    def value(self, features: Tensor, samples: Tensor) -> Tensor:
        v = self.direction.to(features.device, features.dtype)
        one = features.shape[1:]
        if v.shape == one or (v.dim() == 1 and v.shape[0] == features.shape[1]):
            v = v.unsqueeze(0).expand(features.shape[0], *v.shape)
        else:
            v = v[samples]
        if v.shape[1:] == one:
            return (features * v).reshape(features.shape[0], -1).sum(1)
        if v.dim() == 2 and v.shape[1] == features.shape[1]:
            per_channel = features.reshape(features.shape[0], features.shape[1], -1).mean(2)
            return (per_channel * v).sum(1)
        raise ValueError(f"direction of shape {tuple(self.direction.shape)} fits neither the layer's output "
                         f"{tuple(one)} nor its {features.shape[1]} channels")

    def __repr__(self):
        return f"Direction({self.layer})"


class LayerEnergy(_LayerObjective):
    """½·mean(φ(x)²) per row: DeepDream ascends it, amplifying whatever the layer already responds to."""

    def value(self, features: Tensor, samples: Tensor) -> Tensor:
        flat = features.reshape(features.shape[0], -1)
        return 0.5 * (flat * flat).mean(1)

    def __repr__(self):
        return f"Energy({self.layer})"
