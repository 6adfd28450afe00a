"""The fixed vocabulary of the captions, and a tokenizer that refuses words outside it.

Index 0 is padding. The words are the articles "a" and "an", the six attribute words and the words of the
class names (``captions.CLASS_NAMES``), in that order, so token ids never depend on data.
"""
from __future__ import annotations

import re
from typing import List, Sequence, Tuple

import torch
from torch import Tensor

from .captions import ATTRIBUTES, CLASS_NAMES

PAD = "<pad>"
MAX_TOKENS = 8


def _words() -> Tuple[str, ...]:
    words = [PAD, "a", "an"]
    for (low, high), _ in ATTRIBUTES.values():
        words += [low, high]
    for name in CLASS_NAMES:
        words += [w for w in name.split() if w not in words]
    return tuple(words)


WORDS: Tuple[str, ...] = _words()
INDEX = {w: i for i, w in enumerate(WORDS)}


class UnknownWordError(ValueError):
    """A caption word outside the vocabulary; the message lists the known words."""


def split_words(text: str) -> List[str]:
    """Lower-cased words of a caption; commas, full stops and extra spaces separate words."""
    if not isinstance(text, str):
        raise TypeError(f"a caption must be a string, got {type(text).__name__}")
    return [w for w in re.split(r"[\s,.;]+", text.lower().strip()) if w]


def tokenize(text: str, length: int = MAX_TOKENS) -> List[int]:
    """Token ids of a caption, padded with 0 to ``length``; unknown words raise ``UnknownWordError``."""
    words = split_words(text)
    if not words:
        raise ValueError("a caption needs at least one word")
    unknown = [w for w in words if w not in INDEX]
    if unknown:
        raise UnknownWordError(f"unknown word{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} in "
                               f"caption {text!r}; known words: {', '.join(WORDS[1:])}")
    if len(words) > length:
        raise ValueError(f"caption {text!r} has {len(words)} words; at most {length} fit")
    return [INDEX[w] for w in words] + [0] * (length - len(words))


def encode(texts: Sequence[str], length: int = MAX_TOKENS) -> Tensor:
    """(N, length) long token ids of several captions."""
    return torch.tensor([tokenize(t, length) for t in texts], dtype=torch.long).view(len(texts), length)


def decode(ids: Sequence[int]) -> str:
    """The words of token ids, padding dropped (commas are not kept)."""
    return " ".join(WORDS[int(i)] for i in ids if int(i) != 0)
