"""LAPGAN (Denton et al. 2015): a Laplacian pyramid of generators, coarse 7×7 / 8×8 to 28×28 / 32×32."""
from .models import LAPGANDiscriminator, LAPGANGenerator, LevelDiscriminator
from .pyramid import LEVELS, gaussian_levels, laplacian_pairs, upsample

__all__ = ["LAPGANDiscriminator", "LAPGANGenerator", "LEVELS", "LevelDiscriminator", "gaussian_levels",
           "laplacian_pairs", "upsample"]
