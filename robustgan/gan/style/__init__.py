"""A style-based generator (StyleGAN, Karras et al. 2019; StyleGAN2's modulated convolutions).

``StyleGenerator`` trains under the GAN trainer as ``arch="style"``; its W and W+ spaces are
inverted by :func:`robustgan.gan.inversion.invert` with ``space="w"`` / ``"w+"``.
"""
from .generator import RESOLUTIONS, StyleGenerator
from .layers import EqualLinear, NoiseInput, StyledConv, adain, modulated_conv2d
from .mapping import MappingNetwork, pixel_norm
from .noise import NOISE_MODES, fixed_noise

__all__ = ["EqualLinear", "MappingNetwork", "NOISE_MODES", "NoiseInput", "RESOLUTIONS", "StyleGenerator",
           "StyledConv", "adain", "fixed_noise", "modulated_conv2d", "pixel_norm"]
