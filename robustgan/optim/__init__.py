"""The one differentiable-input optimiser: parametrisations, constraints, step rules, one loop.

The attack-specific step rules and helpers live in :mod:`robustgan.optim.rules` and are
re-exported here.
"""
import importlib
import warnings

from .constraints import Ball, Box, L1Ball, L2Ball, LinfBall, parse_norm
from .fourier import Fourier
from .freeze import frozen
from .init import uniform_in_ball
from .init import gaussian_noise
from .loop import optimize
from .value import evaluate_objective
from .options import LoopOptions, loop_options
from .parametrizations import Parametrization, Pixels, TanhBox
from .projections import lp_norm
from .quasi_newton import LBFGS
from .rules import (APGD, DDNStep, DeepFoolStep, FABStep, FMNStep, L0Ball, SquareSearch, apgd_checkpoints,
                    search_penalty, square_init)
from .state import Evaluation, OptimizeResult
from .steps import (LBFGSB, Adam, GradientDescent, Momentum, NormalizedGradient, RuleContext, Sign, SizedStep,
                    StepRule, steepest)
from .taps import tapped
from .latent import Latent, Latents
from .clipping import StochasticClip, stochastic_clip

__all__ = ["evaluate_objective", 
    "APGD", "FABStep", "RuleContext", "SquareSearch", "apgd_checkpoints", "square_init",
    "Adam", "Ball", "Box", "Evaluation", "GradientDescent", "L1Ball", "L2Ball", "LBFGS", "LBFGSB", "LinfBall",
    "Momentum", "NormalizedGradient", "OptimizeResult", "Parametrization", "Pixels", "Sign", "SizedStep",
    "StepRule", "TanhBox", "frozen", "lp_norm", "optimize", "parse_norm", "search_penalty", "steepest", "tapped",
    "uniform_in_ball",
    "Fourier",
    "Latent", "Latents", "StochasticClip", "stochastic_clip",
    "DDNStep", "FMNStep", "L0Ball",
    "DeepFoolStep", "gaussian_noise",
    "LoopOptions", "loop_options",
]

# modules that moved to robustgan.optim.rules: reachable as attributes until their shims go
_MOVED_MODULES = {"adaptive", "deepfool", "fab", "hyperplane", "minimal_norm", "penalty", "square", "transfer"}


def __getattr__(name: str):
    if name == "Normalized":  # renamed: robustgan.models.Normalized is the normalising model wrapper
        warnings.warn("robustgan.optim.Normalized is deprecated; use robustgan.optim.NormalizedGradient",
                      DeprecationWarning, stacklevel=2)
        return NormalizedGradient
    if name in _MOVED_MODULES:
        return importlib.import_module(f".{name}", __name__)  # the shim warns
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
