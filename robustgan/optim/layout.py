"""Run convolutional models in channels-last memory layout for the length of a run.

oneDNN's convolutions can be faster when both the weights and the activations are stored
channels-last (NHWC); the gradients agree with the default layout's to rounding (max |Δ| ≈ 2e-9 on
the shipped CNN, the same signs). The loop stores the model's 4-D weights channels-last on entering a run and puts the caller's own
tensors back on leaving it, even on error, as :func:`~robustgan.optim.freeze.frozen` does with the
mode and the gradient flags: the model is the caller's (their hooks and counters see every pass),
and afterwards it holds the very tensors it held before, unchanged.

``channels_last=True`` runs a run of 4-D inputs this way when the objective reads no inner layers
(their outputs would come back channels-last, and a ``view`` of one could fail) and the step rule
does not seek the decision boundary (``StepRule.seeks_boundary``: minimal-norm attacks, DeepFool,
FAB, CW and L-BFGS end on the boundary, where the last bits of a logit decide a verdict, so they keep
the caller's layout and their points are judged exactly as the caller's own forward pass judges
them). It is off by default (None or False): on this project's 2-core machines it paid single-
threaded (a forward+backward pass 0.61× the time) but not with two threads, where PGD-20 ran
slower in it (``benchmarks/RESULTS.md``, "Faster verdicts"); measure before turning it on.
"""
from __future__ import annotations

import contextlib
from typing import Iterator, Optional

import torch
from torch import nn


def wants_channels_last(model: nn.Module, x: torch.Tensor, setting: Optional[bool], reads_layers: bool,
                        seeks_boundary: bool = False) -> bool:
    """Whether a run of ``model`` on inputs like ``x`` runs channels-last (only when asked)."""
    if not setting or reads_layers or seeks_boundary or x.dim() != 4 or not x.is_floating_point():
        return False
    return not isinstance(model, torch.jit.ScriptModule)


@contextlib.contextmanager
def channels_last(model: nn.Module, enabled: bool = True) -> Iterator[None]:
    """The model's 4-D parameters stored channels-last inside the block; the caller's own tensors
    (the same storage and values) are put back on exit."""
    if not enabled:
        yield
        return
    saved = []
    try:
        for p in model.parameters():
            if p.dim() == 4 and not p.is_contiguous(memory_format=torch.channels_last):
                saved.append((p, p.data))
                p.data = p.data.contiguous(memory_format=torch.channels_last)
        yield
    finally:
        for p, data in saved:
            p.data = data


def to_channels_last(x: torch.Tensor) -> torch.Tensor:
    """The input in the layout of the weights (differentiable; the gradient comes back as ``x`` is)."""
    return x.contiguous(memory_format=torch.channels_last)
