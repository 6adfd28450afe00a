"""GAN inversion and generator provenance attribution, as recipes over the one input optimiser.

``invert`` finds z* = argmin ‖G(z) − x‖² for a batch of images under K generators at once
(restarts × generators × images as rows of one run); ``invert_sources`` does the same for
image-conditioned generators (pix2pix, SRGAN: the source image is the variable) and ``invert_any``
for a mix of both kinds; ``attribution_experiment`` decides which generator made an image, or none,
with a threshold calibrated on held-out real images.
"""
from ...deprecation import renamed_attributes
from .attribute import (NONE, Attribution, calibrate_threshold, confusion_matrix, decide, residual_quantiles,
                        roc_curve, summarize)
from .conditioned import Sources, SourceTerm, operator_consistency, source_tv
from .invert import LatentInversion, PixelMSE, invert
from .mixed import MixedInversion, generator_kind, invert_any
from .provenance import AttributionRun, attribute_images, attribution_experiment, calibrate, generator_samples
from .scripted import ScriptedLatentGenerator, ScriptedSourceGenerator, load_scripted_generator
from .source import SourceInversion, invert_sources, resized

__all__ = [
    "NONE", "Attribution", "AttributionRun", "LatentInversion", "PixelMSE", "attribute_images",
    "attribution_experiment", "calibrate", "calibrate_threshold", "confusion_matrix", "decide", "invert",
    "residual_quantiles", "roc_curve", "summarize",
    "MixedInversion", "ScriptedLatentGenerator", "ScriptedSourceGenerator", "SourceInversion", "SourceTerm",
    "Sources", "generator_kind", "generator_samples", "invert_any", "invert_sources", "load_scripted_generator",
    "operator_consistency", "resized", "source_tv",
]

__getattr__ = renamed_attributes(__name__, {
    "InversionResult": ("robustgan.gan.inversion.LatentInversion", LatentInversion),
})
