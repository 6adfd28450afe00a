"""Progressive growing of GANs (Karras et al. 2018) to 28×28 (7 → 14 → 28) or 32×32 (4 → 8 → 16 → 32)."""
from .discriminator import ProgressiveDiscriminator
from .generator import ProgressiveGenerator
from .schedule import RESOLUTIONS, fade, growth_at, resize_to

__all__ = ["RESOLUTIONS", "ProgressiveDiscriminator", "ProgressiveGenerator", "fade", "growth_at", "resize_to"]
