"""Discriminator and generator layers shared by the GAN families: minibatch statistics, equalised LR, pixel norm."""
from .equalized import EqualizedConv2d, EqualizedLinear, PixelNorm, he_scale
from .minibatch import MinibatchDiscrimination, MinibatchStd

__all__ = ["EqualizedConv2d", "EqualizedLinear", "MinibatchDiscrimination", "MinibatchStd", "PixelNorm", "he_scale"]
