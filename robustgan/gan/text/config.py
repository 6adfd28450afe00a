"""The text side of a GAN-CLS run; the optimisation side is an ordinary :class:`~robustgan.gan.GANConfig`."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Dict

MODES = ("naive", "cls", "int", "cls-int")


@dataclass(frozen=True)
class TextSettings:
    """``mode``: 'cls-int' (matching-aware D and interpolated captions, Reed et al.'s GAN-INT-CLS),
    'cls' (matching-aware only), 'int' (interpolation only) or 'naive' (a text-conditional GAN: no
    mismatched term, no interpolation). ``beta``: GAN-INT's mixing weight. ``text_dim``,
    ``embed_dim``: the caption encoder's output and word-vector sizes; ``proj_dim``: the size G and
    D compress the caption embedding to; ``encoder_steps``: the encoder's pretraining steps."""

    mode: str = "cls-int"
    beta: float = 0.5
    text_dim: int = 32
    embed_dim: int = 32
    proj_dim: int = 32
    encoder_steps: int = 150

    @property
    def matching_aware(self) -> bool:
        return self.mode in ("cls", "cls-int")

    @property
    def interpolate(self) -> bool:
        return self.mode in ("int", "cls-int")

    def validate(self) -> "TextSettings":
        if self.mode not in MODES:
            raise ValueError(f"text mode must be one of {MODES}, got {self.mode!r}")
        if not 0.0 <= self.beta <= 1.0:
            raise ValueError(f"beta must be in [0, 1], got {self.beta}")
        for name in ("text_dim", "embed_dim", "proj_dim", "encoder_steps"):
            v = getattr(self, name)
            if not isinstance(v, int) or v <= 0:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        return self

    def to_dict(self) -> Dict[str, Any]:
        """Keys prefixed ``text_`` so they sit beside the GAN config's in a run identity."""
        return {f"text_{k}" if not k.startswith("text_") else k: v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "TextSettings":
        names = {f.name for f in fields(cls)}
        values = {(k if k in names else k[len("text_"):]): v for k, v in data.items()}
        return cls(**{k: v for k, v in values.items() if k in names})
