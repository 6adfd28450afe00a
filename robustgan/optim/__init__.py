"""The one differentiable-input optimiser: parametrisations, constraints, step rules, one loop."""
from .adaptive import APGD, apgd_checkpoints
from .constraints import Ball, Box, L1Ball, L2Ball, LinfBall, parse_norm
from .fourier import Fourier
from .fab import FABStep
from .deepfool import DeepFoolStep
from .freeze import frozen
from .init import uniform_in_ball
from .init import gaussian_noise
from .loop import optimize
from .value import evaluate_objective
from .options import LoopOptions, loop_options
from .minimal_norm import DDNStep, FMNStep, L0Ball
from .parametrizations import Parametrization, Pixels, TanhBox
from .penalty import search_penalty
from .projections import lp_norm
from .quasi_newton import LBFGS
from .square import SquareSearch, square_init
from .state import Evaluation, OptimizeResult
from .steps import LBFGSB, Adam, GradientDescent, Momentum, Normalized, RuleContext, Sign, StepRule, steepest
from .taps import tapped
from .latent import Latent, Latents
from .clipping import StochasticClip, stochastic_clip

__all__ = ["evaluate_objective", 
    "APGD", "FABStep", "RuleContext", "SquareSearch", "apgd_checkpoints", "square_init",
    "Adam", "Ball", "Box", "Evaluation", "GradientDescent", "L1Ball", "L2Ball", "LBFGS", "LBFGSB", "LinfBall",
    "Momentum", "Normalized", "OptimizeResult", "Parametrization", "Pixels", "Sign", "StepRule",
    "TanhBox", "frozen", "lp_norm", "optimize", "parse_norm", "search_penalty", "steepest", "tapped",
    "uniform_in_ball",
    "Fourier",
    "Latent", "Latents", "StochasticClip", "stochastic_clip",
    "DDNStep", "FMNStep", "L0Ball",
    "DeepFoolStep", "gaussian_noise",
    "LoopOptions", "loop_options",
]
