"""Robust and non-robust feature datasets (Ilyas et al. 2019), crafted with the one input optimiser."""
from .dataset import CraftedDataset
from .job import KINDS, CraftConfig, craft, craft_job
from .recipes import choose_targets, feature_layer, features_of, invert_features, targeted_l2
from .shards import read_manifest, write_shards

__all__ = ["KINDS", "CraftConfig", "CraftedDataset", "choose_targets", "craft", "craft_job", "feature_layer",
           "features_of", "invert_features", "read_manifest", "targeted_l2", "write_shards"]
