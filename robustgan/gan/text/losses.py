"""The loss terms of GAN-CLS and GAN-INT (Reed et al. 2016), on discriminator logits.

D's three-term loss: a real image with its caption is real; a real image with a mismatched
caption and a generated image with its caption are fake, each weighted ½:

    L_D = softplus(−s_r) + ½·[softplus(s_w) + softplus(s_f)]
        = −log D(x, h) − ½·log(1 − D(x, ĥ)) − ½·log(1 − D(G(z, h), h))

The naive text-conditional GAN drops the mismatched term: L_D = softplus(−s_r) + softplus(s_f).
GAN-INT adds generator terms on captions interpolated between pairs of the batch,
h = β·h₁ + (1 − β)·h₂ (β = ½), for which no real image exists.
"""
from __future__ import annotations

from typing import Optional

import torch.nn.functional as F
from torch import Tensor


def _real_term(real: Tensor, real_label: float) -> Tensor:
    """BCE of real logits against ``real_label`` (< 1: one-sided label smoothing)."""
    if real_label == 1.0:
        return F.softplus(-real).mean()
    return (real_label * F.softplus(-real) + (1 - real_label) * F.softplus(real)).mean()


def matching_aware_d_loss(real: Tensor, mismatched: Tensor, fake: Tensor, real_label: float = 1.0) -> Tensor:
    """GAN-CLS's discriminator loss from the logits of (real, right text), (real, wrong text), (fake, right text)."""
    return _real_term(real, real_label) + 0.5 * (F.softplus(mismatched).mean() + F.softplus(fake).mean())


def naive_d_loss(real: Tensor, fake: Tensor, real_label: float = 1.0) -> Tensor:
    """The plain conditional GAN's discriminator loss: (real, text) real, (fake, text) fake."""
    return _real_term(real, real_label) + F.softplus(fake).mean()


def generator_loss(fake: Tensor, interpolated: Optional[Tensor] = None) -> Tensor:
    """Non-saturating −log D(G(z, h), h), plus the same on interpolated captions for GAN-INT."""
    loss = F.softplus(-fake).mean()
    if interpolated is not None:
        loss = loss + F.softplus(-interpolated).mean()
    return loss


def interpolate_embeddings(a: Tensor, b: Tensor, beta: float = 0.5) -> Tensor:
    """β·a + (1 − β)·b, row by row (GAN-INT's extra captions)."""
    if a.shape != b.shape:
        raise ValueError(f"embeddings to interpolate must have one shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"beta must be in [0, 1], got {beta}")
    return beta * a + (1.0 - beta) * b


def mismatched(text: Tensor) -> Tensor:
    """Each row's caption embedding replaced by the next row's (the batch rolled by one): the
    "wrong text" of the matching-aware term. The batch is shuffled, so the partner is random; with
    270 possible captions it rarely shares the caption, about one in ten times its class."""
    return text.roll(1, 0)
