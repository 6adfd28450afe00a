"""``arch="style"`` in a GAN run: the generator's arguments from a config (D stays DCGAN's)."""
from __future__ import annotations

from typing import Any, Dict

from .generator import StyleGenerator

KIND = "style"


def style_kwargs(cfg: Any, image_size: int, channels: int) -> Dict[str, Any]:
    """The style-based generator's arguments, tagged ``kind`` so a checkpoint rebuilds this class."""
    return {"kind": KIND, "latent_dim": cfg.latent_dim, "image_size": image_size, "channels": channels,
            "width": cfg.width, "mapping_layers": cfg.mapping_layers, "style_mixing": cfg.style_mixing}


def build_style_generator(kwargs: Dict[str, Any]) -> StyleGenerator:
    kwargs = dict(kwargs)
    kwargs.pop("kind", None)
    return StyleGenerator(**kwargs)
