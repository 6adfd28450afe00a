"""Composable differentiable objectives: ``-CrossEntropy() + 0.5 * Distance()``."""
from .base import Objective, Scaled, Sum, as_objective
from .classification import DLR, CrossEntropy, Distance, Margin, Probability, TargetMargin, other_max

__all__ = [
    "DLR", "CrossEntropy", "Distance", "Margin", "Objective", "Probability", "Scaled", "Sum",
    "TargetMargin", "as_objective", "other_max",
]
