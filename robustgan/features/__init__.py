"""Robust and non-robust feature datasets (Ilyas et al. 2019), crafted with the one input optimiser."""
from ..deprecation import renamed_attributes
from ..visualize.layers import layer_features as _layer_features
from .dataset import CraftedDataset
from .job import KINDS, CraftConfig, craft, craft_job
from .recipes import choose_targets, feature_layer, match_features, targeted_l2
from .shards import read_manifest, write_shards

__all__ = ["KINDS", "CraftConfig", "CraftedDataset", "choose_targets", "craft", "craft_job", "feature_layer",
           "match_features", "read_manifest", "targeted_l2", "write_shards"]

__getattr__ = renamed_attributes(__name__, {
    "features_of": ("robustgan.visualize.layer_features", _layer_features),
    "invert_features": ("robustgan.features.match_features", match_features),
})
