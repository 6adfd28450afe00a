"""A small caption encoder: a bag of word embeddings, pretrained to read a caption's class and attributes.

Why this shape: the captions are unordered attribute words plus a class name, so a summed bag of
word embeddings (order-free, additive) loses nothing a GRU would keep, and it makes the embedding
of a caption the sum of its words' contributions — the straight line between two captions' embeddings
(GAN-INT) passes through mixtures of their words. Why pretrained, then frozen: Reed et al. also
train the text encoder first and keep it fixed while the GAN trains, so that the condition G and D
see does not drift under them. The pretraining task — predict the class and the three attribute
buckets of every caption the grammar can produce (10 × 3³ = 270), with a linear head on the
embedding — needs no images, takes about a second, and lays the embedding out along exactly the
factors the captions describe. It is seeded, so the same settings give the same encoder bits.
"""
from __future__ import annotations

from typing import Any, Dict, List

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .captions import ATTRIBUTES, CLASS_NAMES, all_captions
from .vocab import WORDS, encode

HEADS = [len(CLASS_NAMES)] + [3] * len(ATTRIBUTES)


class TextEncoder(nn.Module):
    """Token ids (N, L) (0 = padding) → caption embeddings (N, ``text_dim``)."""

    def __init__(self, vocab_size: int = len(WORDS), embed_dim: int = 32, text_dim: int = 32):
        super().__init__()
        self.vocab_size, self.embed_dim, self.text_dim = vocab_size, embed_dim, text_dim
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.out = nn.Linear(embed_dim, text_dim)
        self.heads = nn.Linear(text_dim, sum(HEADS))  # pretraining only

    def config(self) -> Dict[str, Any]:
        return {"vocab_size": self.vocab_size, "embed_dim": self.embed_dim, "text_dim": self.text_dim}

    def forward(self, tokens: Tensor) -> Tensor:
        if tokens.dim() != 2:
            raise ValueError(f"tokens must be (N, L) ids, got shape {tuple(tokens.shape)}")
        return self.out(self.embed(tokens).sum(1))

    def logits(self, tokens: Tensor) -> List[Tensor]:
        """The pretraining heads: class, brightness, width and texture logits."""
        return list(self.heads(self(tokens)).split(HEADS, 1))


def caption_targets() -> tuple:
    """(tokens (270, L), targets (270, 4)) of every caption the grammar makes."""
    rows = all_captions()
    tokens = encode([c for c, _, _ in rows])
    targets = torch.tensor([[label, *b] for _, label, b in rows], dtype=torch.long)
    return tokens, targets


def pretrain_encoder(embed_dim: int = 32, text_dim: int = 32, steps: int = 150, seed: int = 0,
                     lr: float = 0.02) -> TextEncoder:
    """A :class:`TextEncoder` trained full-batch (Adam, small weight decay to keep embeddings O(1)) to
    read class and buckets; returned frozen, in eval mode. The global RNG is left as it was."""
    tokens, targets = caption_targets()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        enc = TextEncoder(len(WORDS), embed_dim, text_dim)
    opt = torch.optim.Adam(enc.parameters(), lr=lr, weight_decay=1e-3)
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = sum(F.cross_entropy(lg, targets[:, i]) for i, lg in enumerate(enc.logits(tokens)))
        loss.backward()
        opt.step()
    return freeze(enc)


def freeze(enc: TextEncoder) -> TextEncoder:
    """Eval mode, no gradients: the condition stays fixed while the GAN trains."""
    enc.eval()
    for p in enc.parameters():
        p.requires_grad_(False)
    return enc


@torch.no_grad()
def encoder_accuracy(enc: TextEncoder) -> float:
    """Share of (caption, head) pairs the pretrained heads read right (1.0 after pretraining)."""
    tokens, targets = caption_targets()
    hits = [(lg.argmax(1) == targets[:, i]).float() for i, lg in enumerate(enc.logits(tokens))]
    return float(torch.stack(hits).mean())
