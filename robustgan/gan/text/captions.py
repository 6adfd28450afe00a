"""Captions of Fashion-MNIST images: the class name plus attributes measured on the pixels.

Each image gets exactly one caption, deterministically, from three measurements:

* brightness — mean intensity of the garment's pixels (those above ``FOREGROUND`` = 0.1), so a
  large garment is not called bright for its size: < 0.55 "dark", > 0.72 "bright";
* width — horizontal extent of the garment (first to last column holding a pixel above
  ``FOREGROUND``) over the image width: < 0.6 "narrow", > 0.9 "wide";
* texture — mean gradient magnitude (forward differences) over the garment's pixels:
  < 0.19 "smooth", > 0.25 "textured".

The cut points are round numbers near the tertiles of the Fashion-MNIST training set, fixed here
so that the vocabulary and every caption never depend on the data a run is given. The middle
bucket has no word: "a coat" is a coat of medium brightness, width and texture. A caption reads
``"a " + ", ".join(words) + " " + class`` ("an" before a vowel: "an ankle boot"), e.g.
"a dark, narrow ankle boot", "a bright, wide, textured bag".
Width is absolute, not per class: trousers are mostly "narrow", shoes and bags mostly "wide".
"""
from __future__ import annotations

from typing import List, NamedTuple, Sequence, Tuple

import torch
from torch import Tensor

FOREGROUND = 0.1
CLASS_NAMES: Tuple[str, ...] = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker",
                                "bag", "ankle boot")
# attribute → (low word, high word), (low cut, high cut); the middle bucket has no word
ATTRIBUTES = {
    "brightness": (("dark", "bright"), (0.55, 0.72)),
    "width": (("narrow", "wide"), (0.6, 0.9)),
    "texture": (("smooth", "textured"), (0.19, 0.25)),
}
LOW, MIDDLE, HIGH = 0, 1, 2


class Measured(NamedTuple):
    """Per-image measurements, each (N,)."""

    brightness: Tensor
    width: Tensor
    texture: Tensor


def _check(images: Tensor) -> Tensor:
    if images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(f"images must be (N, 1, H, W) grey images, got shape {tuple(images.shape)}")
    return images.float()


def measure(images: Tensor) -> Measured:
    """Brightness, width and texture of each image in [0, 1] (N, 1, H, W); a blank image measures 0."""
    x = _check(images)[:, 0]
    fg = x > FOREGROUND
    count = fg.sum((1, 2)).clamp(min=1)
    brightness = (x * fg).sum((1, 2)) / count
    cols = fg.any(1)
    idx = torch.arange(x.shape[2], device=x.device)
    left = torch.where(cols, idx, x.shape[2]).min(1).values
    right = torch.where(cols, idx, -1).max(1).values
    width = (right - left + 1).clamp(min=0).float() / x.shape[2]
    gx = x[:, :-1, 1:] - x[:, :-1, :-1]
    gy = x[:, 1:, :-1] - x[:, :-1, :-1]
    inner = fg[:, :-1, :-1]
    texture = ((gx ** 2 + gy ** 2).sqrt() * inner).sum((1, 2)) / inner.sum((1, 2)).clamp(min=1)
    return Measured(brightness, width, texture)


def buckets(values: Tensor, attribute: str) -> Tensor:
    """LOW / MIDDLE / HIGH (0, 1, 2) of one attribute's measurements."""
    (_, _), (low, high) = ATTRIBUTES[attribute]
    return (values >= low).long() + (values > high).long()


def adjectives(bucket_row: Sequence[int]) -> List[str]:
    """The words of one image's (brightness, width, texture) buckets, in that order."""
    words = []
    for attribute, b in zip(ATTRIBUTES, bucket_row):
        (low_word, high_word), _ = ATTRIBUTES[attribute]
        if b == LOW:
            words.append(low_word)
        elif b == HIGH:
            words.append(high_word)
    return words


def compose(label: int, bucket_row: Sequence[int]) -> str:
    """The caption of a class index and its (brightness, width, texture) buckets."""
    if not 0 <= int(label) < len(CLASS_NAMES):
        raise ValueError(f"label must be in [0, {len(CLASS_NAMES)}), got {label}")
    words = adjectives(bucket_row)
    rest = (", ".join(words) + " " if words else "") + CLASS_NAMES[int(label)]
    return ("an " if rest[0] in "aeiou" else "a ") + rest


def attribute_buckets(images: Tensor) -> Tensor:
    """(N, 3) buckets of brightness, width and texture."""
    m = measure(images)
    return torch.stack([buckets(getattr(m, a), a) for a in ATTRIBUTES], 1)


def caption_images(images: Tensor, labels: Tensor) -> List[str]:
    """One caption per image (its class from ``labels``, its attributes measured)."""
    if labels.shape != (images.shape[0],):
        raise ValueError(f"labels must have shape ({images.shape[0]},), got {tuple(labels.shape)}")
    rows = attribute_buckets(images).tolist()
    return [compose(int(y), row) for y, row in zip(labels.tolist(), rows)]


def all_captions() -> List[Tuple[str, int, Tuple[int, int, int]]]:
    """Every caption the grammar makes (10 classes × 3³ buckets), with its class and buckets."""
    out = []
    for label in range(len(CLASS_NAMES)):
        for b in range(3):
            for w in range(3):
                for t in range(3):
                    out.append((compose(label, (b, w, t)), label, (b, w, t)))
    return out
