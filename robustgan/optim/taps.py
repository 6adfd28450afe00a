"""Capture the outputs of named sub-modules during a forward pass (forward hooks, always removed)."""
from __future__ import annotations

import contextlib
from typing import Dict, Iterable, Iterator

from torch import Tensor, nn


@contextlib.contextmanager
def tapped(model: nn.Module, layers: Iterable[str]) -> Iterator[Dict[str, Tensor]]:
    """Yield a dict that every forward pass fills with ``{layer name: output}``.

    Layer names are those of ``model.named_modules()``; an unknown name fails with the list of
    valid ones. The hooks are removed when the block ends, even on error, so the user's model
    never needs a patched ``forward``.
    """
    layers = list(layers)
    named = dict(model.named_modules())
    missing = [name for name in layers if name not in named]
    if missing:
        valid = ", ".join(n for n in named if n) or "(none)"
        raise ValueError(f"unknown layer(s) {missing}; the model's layers are: {valid}")
    store: Dict[str, Tensor] = {}
    handles = []

    def hook_for(name: str):
        def hook(_module, _inputs, output):
            store[name] = output
        return hook

    try:
        for name in layers:
            handles.append(named[name].register_forward_hook(hook_for(name)))
        yield store
    finally:
        for h in handles:
            h.remove()
