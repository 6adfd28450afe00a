"""GAN inversion and generator provenance attribution, as recipes over the one input optimiser.

``invert`` finds z* = argmin ‖G(z) − x‖² for a batch of images under K generators at once
(restarts × generators × images as rows of one run); ``attribution_experiment`` decides which
generator made an image, or none, with a threshold calibrated on held-out real images.
"""
from ...deprecation import renamed_attributes
from .attribute import (NONE, Attribution, calibrate_threshold, confusion_matrix, decide, residual_quantiles,
                        roc_curve, summarize)
from .invert import LatentInversion, PixelMSE, invert
from .provenance import AttributionRun, attribute_images, attribution_experiment, calibrate

__all__ = [
    "NONE", "Attribution", "AttributionRun", "LatentInversion", "PixelMSE", "attribute_images",
    "attribution_experiment", "calibrate", "calibrate_threshold", "confusion_matrix", "decide", "invert",
    "residual_quantiles", "roc_curve", "summarize",
]

__getattr__ = renamed_attributes(__name__, {
    "InversionResult": ("robustgan.gan.inversion.LatentInversion", LatentInversion),
})
