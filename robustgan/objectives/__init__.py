"""Composable differentiable objectives: ``-CrossEntropy() + 0.5 * Distance()``."""
from .base import Objective, Scaled, Sum, as_objective
from .classification import (DLR, CrossEntropy, Distance, LogitGap, Margin, Probability, TargetedDLR,
                             TargetMargin, other_max)
from .features import Channel, Direction, FeatureMatch, LayerEnergy, Unit
from .priors import AlphaNorm, BlurPenalty, TotalVariation, mahendran_normalizers, total_variation
from .style import GramLoss, gram

__all__ = [
    "DLR", "CrossEntropy", "LogitGap", "TargetedDLR", "Distance", "Margin", "Objective", "Probability", "Scaled", "Sum",
    "TargetMargin", "as_objective", "other_max",
    "AlphaNorm", "BlurPenalty", "Channel", "Direction", "FeatureMatch", "GramLoss", "LayerEnergy",
    "TotalVariation", "Unit", "gram", "mahendran_normalizers", "total_variation",
]
