"""What a model sees: fooling images, feature inversion, activation maximisation, DeepDream, texture and style.

Every recipe here is a few lines over :func:`robustgan.optim.optimize`; none has a loop of its own.
Recipes return tensors and numbers; :mod:`robustgan.visualize.jobs` writes the PNGs and JSON.
"""
from ..deprecation import renamed_attributes
from .dream import DreamResult, deepdream
from .feature_nets import RandomMultiScaleCNN, load_feature_network, match_channels
from .fooling import FoolingResult, fooling_images
from .images import load_image, sample_photo, save_grid, save_image, write_json
from .inversion import FeatureInversion, feature_error, invert_features, invert_layers
from .layers import UpTo, activation_layers, features_of, layer_features, layer_shapes
from .maximize import MaximizeResult, TopImages, make_probe, maximize_activation, synthesize, top_dataset_images
from .style import StyleResult, style_transfer
from .style_compare import compare_style_transfer
from .style_network import StyleObjective, TransformNet, stylize
from .style_network_train import StyleNetworkRun, load_style_network, train_style_network
from .texture import TextureResult, gram_targets, synthesize_texture
from .transforms import Compose, Jitter, RandomScale, standard_transforms

__all__ = [
    "Compose", "DreamResult", "FeatureInversion", "FoolingResult", "Jitter", "MaximizeResult",
    "RandomMultiScaleCNN", "RandomScale", "StyleNetworkRun", "StyleObjective", "StyleResult", "TextureResult",
    "TopImages", "TransformNet", "UpTo", "activation_layers", "compare_style_transfer", "deepdream",
    "feature_error", "features_of", "fooling_images", "gram_targets", "invert_features", "invert_layers",
    "layer_features", "layer_shapes", "load_feature_network", "load_image", "load_style_network", "make_probe",
    "match_channels", "maximize_activation", "sample_photo", "save_grid", "save_image", "standard_transforms",
    "style_transfer", "stylize", "synthesize", "synthesize_texture", "top_dataset_images", "train_style_network",
    "write_json",
]

__getattr__ = renamed_attributes(__name__, {
    "InversionResult": ("robustgan.visualize.FeatureInversion", FeatureInversion),
})
