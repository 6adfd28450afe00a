"""Composable differentiable objectives: ``-CrossEntropy() + 0.5 * Distance()``."""
from .base import Objective, Scaled, Sum, as_objective
from .classification import (DLR, CrossEntropy, Distance, LogitGap, Margin, Probability, TargetedDLR,
                             TargetMargin, other_max)

__all__ = [
    "DLR", "CrossEntropy", "LogitGap", "TargetedDLR", "Distance", "Margin", "Objective", "Probability", "Scaled", "Sum",
    "TargetMargin", "as_objective", "other_max",
]
