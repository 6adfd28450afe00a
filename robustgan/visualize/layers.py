"""Finding and cutting at layers: which named modules give feature maps, and a model that stops at one.

``UpTo(model, layer)`` returns a layer's output as the model output. It lets a classifier with a
fixed-size dense head run on inputs of any size (DeepDream's octaves) as long as the layer is
convolutional, and it skips the computation after the layer.
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import torch
from torch import Tensor, nn

from ..optim import frozen, tapped


class _Reached(Exception):
    """Raised by the hook to stop the forward pass once the layer has produced its output."""


class UpTo(nn.Module):
    """``model`` run only as far as ``layer``; the output is that layer's activation (or, with
    ``before=True``, the layer's input — e.g. the pre-activation of a ReLU).

    The hook lives only for the duration of one forward, so the wrapped model is left untouched.
    """

    def __init__(self, model: nn.Module, layer: str, before: bool = False):
        super().__init__()
        named = dict(model.named_modules())
        if layer not in named or layer == "":
            valid = ", ".join(n for n in named if n) or "(none)"
            raise ValueError(f"unknown layer {layer!r}; the model's layers are: {valid}")
        self.model = model
        self.layer = layer
        self.before = bool(before)

    def forward(self, x: Tensor) -> Tensor:
        store: Dict[str, Tensor] = {}

        def hook(_module, inputs, output):
            store["out"] = inputs[0] if self.before else output
            raise _Reached

        handle = dict(self.model.named_modules())[self.layer].register_forward_hook(hook)
        try:
            self.model(x)
        except _Reached:
            pass
        finally:
            handle.remove()
        if "out" not in store:
            raise ValueError(f"layer {self.layer!r} did not run in the model's forward pass")
        return store["out"]


@torch.no_grad()
def layer_shapes(model: nn.Module, example: Tensor) -> Dict[str, Tuple[int, ...]]:
    """Per-sample output shape of every named leaf module called exactly once, in call order.

    One forward of one example; the model is untouched. Modules called several times (a shared
    ``nn.ReLU``) are left out: a tap on them would only keep the last call.
    """
    mods = {n: m for n, m in model.named_modules() if n and not list(m.children())}
    calls: Dict[str, int] = {}
    with frozen([model]), tapped(model, list(mods)) as feats:
        handles = [m.register_forward_hook(lambda *_a, n=n: calls.__setitem__(n, calls.get(n, 0) + 1))
                   for n, m in mods.items()]
        try:
            model(example[:1])
        finally:
            for h in handles:
                h.remove()
    return {n: tuple(feats[n].shape[1:]) for n in calls
            if calls[n] == 1 and isinstance(feats.get(n), Tensor)}


_ACTIVATIONS = (nn.ReLU, nn.GELU, nn.SiLU, nn.LeakyReLU, nn.ELU, nn.Tanh, nn.Sigmoid, nn.Hardswish, nn.ReLU6)


def activation_layers(model: nn.Module, example: Tensor, spatial: bool = False) -> List[str]:
    """Names of activation modules in forward order (with ``spatial``: only those giving feature maps).

    Falls back to convolutions when the model has no activation modules (functional ReLUs).
    """
    shapes = layer_shapes(model, example)
    order = list(shapes)
    mods = dict(model.named_modules())
    picks = [n for n in order if isinstance(mods[n], _ACTIVATIONS)]
    if not picks:
        picks = [n for n in order if isinstance(mods[n], nn.Conv2d)]
    if spatial:
        picks = [n for n in picks if len(shapes[n]) == 3]
    return picks


def spread(names: Sequence[str], k: int) -> List[str]:
    """At most ``k`` names evenly spaced from first to last, in order."""
    names = list(names)
    if k <= 0 or not names:
        return []
    if len(names) <= k:
        return names
    if k == 1:
        return [names[-1]]
    idx = sorted({round(i * (len(names) - 1) / (k - 1)) for i in range(k)})
    return [names[i] for i in idx]


@torch.no_grad()
def features_of(model: nn.Module, x: Tensor, layers: Sequence[str], batch_size: int = 512) -> Dict[str, Tensor]:
    """The activations of ``layers`` for ``x`` (batched, eval mode, model untouched), detached."""
    layers = list(layers)
    out: Dict[str, list] = {n: [] for n in layers}
    with frozen([model]), tapped(model, layers) as feats:
        for i in range(0, x.shape[0], batch_size):
            model(x[i:i + batch_size])
            for n in layers:
                out[n].append(feats[n].detach())
    return {n: torch.cat(v) for n, v in out.items()}


def layer_features(model: nn.Module, x: Tensor, layer: str, batch_size: int = 512) -> Tensor:
    """One layer's activations for ``x``, as a tensor: :func:`features_of` for a single layer."""
    return features_of(model, x, [layer], batch_size)[layer]
