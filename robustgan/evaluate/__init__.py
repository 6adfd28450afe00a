"""Measuring robustness: ε sweeps with early exit, minimal-distortion curves, the evaluate job."""
from .minimal import distortion_curve, distortion_summary
from .sweep import SweepResult, per_class_accuracy, predict, robustness_sweep

__all__ = ["SweepResult", "distortion_curve", "distortion_summary", "per_class_accuracy", "predict", "robustness_sweep"]
