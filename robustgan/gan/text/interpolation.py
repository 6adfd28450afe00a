"""Sampling a text-conditional generator for captions, and GAN-INT's walk between two captions."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from ...optim.freeze import frozen
from .encoder import TextEncoder
from .losses import interpolate_embeddings
from .vocab import encode


@torch.no_grad()
def embed_captions(encoder: TextEncoder, captions: Sequence[str]) -> Tensor:
    """(len(captions), text_dim) embeddings; an unknown word raises ``UnknownWordError`` naming the known ones."""
    device = next(encoder.parameters()).device
    with frozen([encoder]):
        return encoder(encode(list(captions)).to(device))


@torch.no_grad()
def sample_captions(generator: torch.nn.Module, encoder: TextEncoder, captions: Sequence[str], per_caption: int = 8,
                    seed: int = 0) -> Tensor:
    """``per_caption`` images for each caption, caption-major; the j-th image of every caption shares
    its latent, so the rows of a grid differ by their caption alone."""
    if per_caption < 1:
        raise ValueError(f"per_caption must be ≥ 1, got {per_caption}")
    device = next(generator.parameters()).device
    h = embed_captions(encoder, captions).to(device).repeat_interleave(per_caption, 0)
    gen = torch.Generator().manual_seed(seed)
    z = generator.sample_latent(per_caption, gen, device=torch.device("cpu")).repeat(len(captions), 1).to(device)
    with frozen([generator]):
        return generator(z, h).cpu()


def interpolation_weights(points: int) -> Tensor:
    """β from 1 down to 0 over ``points`` columns: column 0 is caption a, the last is caption b."""
    if points < 2:
        raise ValueError(f"an interpolation needs ≥ 2 points, got {points}")
    return torch.linspace(1.0, 0.0, points)


@torch.no_grad()
def caption_interpolation(generator: torch.nn.Module, encoder: TextEncoder, a: str, b: str, points: int = 8,
                          rows: int = 4, seed: int = 0) -> Tensor:
    """(rows · points) images: row r keeps one latent while the caption embedding moves from a's to b's,
    β·h_a + (1 − β)·h_b (GAN-INT's interpolation), so the style stays and the content changes."""
    device = next(generator.parameters()).device
    h_a, h_b = embed_captions(encoder, [a, b]).to(device)
    betas = interpolation_weights(points).to(device)
    h = torch.stack([interpolate_embeddings(h_a, h_b, float(beta)) for beta in betas]).repeat(rows, 1)
    gen = torch.Generator().manual_seed(seed)
    z = generator.sample_latent(rows, gen, device=torch.device("cpu")).repeat_interleave(points, 0).to(device)
    with frozen([generator]):
        return generator(z, h).cpu()
