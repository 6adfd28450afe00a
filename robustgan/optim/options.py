"""How the loop runs, as opposed to what it optimises: masked (sync-free) rows, mixed precision,
compilation. Set per call of :func:`~robustgan.optim.optimize`, or for a whole block of code with
:func:`loop_options`, so that every attack inside it (and every attack inside a command such as
``robustgan evaluate --amp bf16``) runs the same way without each taking three more arguments.
"""
from __future__ import annotations

import contextvars
import weakref
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Iterator, Optional

import torch
from torch import nn

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class LoopOptions:
    """``sync_every``: None gathers the active rows every step (the least arithmetic); k ≥ 1 keeps
    every row in the batch, masks retired ones, and asks the device whether any row is still active
    only every k steps (no host synchronisation in between: one stream of kernels on CUDA).
    ``amp``: run the model under autocast in ``"bf16"`` or ``"fp16"`` (the variable, the step and
    the projection stay in the input's precision). ``compile``: run the model through
    ``torch.compile`` (its forward and backward graphs; inductor, on CPU too). ``channels_last``:
    store the model's 4-D weights channels-last for the run (off unless True; see
    :mod:`robustgan.optim.layout`)."""

    sync_every: Optional[int] = None
    amp: Optional[str] = None
    compile: bool = False
    channels_last: Optional[bool] = None

    def __post_init__(self) -> None:
        if self.sync_every is not None and (isinstance(self.sync_every, bool) or not isinstance(self.sync_every, int)
                                            or self.sync_every < 1):
            raise ValueError(f"sync_every must be None or an integer >= 1, got {self.sync_every!r}")
        if self.amp is not None and self.amp not in AMP_DTYPES:
            raise ValueError(f"amp must be None, 'bf16' or 'fp16', got {self.amp!r}")
        if not isinstance(self.compile, bool):
            raise TypeError(f"compile must be True or False, got {self.compile!r}")
        if self.channels_last is not None and not isinstance(self.channels_last, bool):
            raise TypeError(f"channels_last must be None, True or False, got {self.channels_last!r}")


_CURRENT: contextvars.ContextVar = contextvars.ContextVar("robustgan_loop_options", default=LoopOptions())


def current_options() -> LoopOptions:
    return _CURRENT.get()


@contextmanager
def loop_options(**settings) -> Iterator[LoopOptions]:
    """``with loop_options(amp="bf16", compile=True): attacks.pgd(...)``: the loop's defaults inside
    the block (arguments given to ``optimize`` itself still win)."""
    options = replace(current_options(), **settings)
    token = _CURRENT.set(options)
    try:
        yield options
    finally:
        _CURRENT.reset(token)


def resolve(sync_every, amp, compile, channels_last=None) -> LoopOptions:
    """The options of one call: its own arguments where given, else the block's."""
    base = current_options()
    return LoopOptions(base.sync_every if sync_every is None else sync_every,
                       base.amp if amp is None else amp,
                       base.compile if compile is None else compile,
                       base.channels_last if channels_last is None else channels_last)


_COMPILED: "weakref.WeakKeyDictionary[nn.Module, nn.Module]" = weakref.WeakKeyDictionary()


def compiled(model: nn.Module) -> nn.Module:
    """``torch.compile(model)``, once per model: every later run reuses its compiled graphs (shapes
    that change as rows retire are compiled once more, with dynamic sizes)."""
    out = _COMPILED.get(model)
    if out is None:
        out = torch.compile(model)
        _COMPILED[model] = out
    return out


def autocast_for(device: torch.device, amp: Optional[str]):
    """The autocast context for ``amp`` on ``device`` (a no-op without amp)."""
    if amp is None:
        return torch.autocast(device_type=device.type, enabled=False)
    return torch.autocast(device_type=device.type, dtype=AMP_DTYPES[amp])
