"""Run networks in eval mode with frozen weights, and give the caller back exactly what they had."""
from __future__ import annotations

import contextlib
from typing import Iterable, Iterator

from torch import nn


@contextlib.contextmanager
def frozen(modules: Iterable[nn.Module]) -> Iterator[None]:
    """Eval mode and ``requires_grad=False`` for every module inside, restored on exit.

    The state is read when the block is entered (call time), never captured earlier, so a model
    switched to train mode between two attacks is returned in train mode. Weights never get
    gradients, so their ``.grad`` is untouched; BatchNorm statistics do not move in eval mode.
    """
    modules = [m for m in modules if isinstance(m, nn.Module)]
    modes = [(sub, sub.training) for m in modules for sub in m.modules()]
    flags = [(p, p.requires_grad) for m in modules for p in m.parameters()]
    try:
        for sub, _ in modes:
            sub.training = False
        for p, _ in flags:
            p.requires_grad_(False)
        yield
    finally:
        for sub, mode in modes:
            sub.training = mode
        for p, flag in flags:
            p.requires_grad_(flag)
