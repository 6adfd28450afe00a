"""Attack-specific step rules and their helpers, each a small file over the generic optimiser.

The loop, the generic steps (sign, normalised gradient, momentum, Adam, L-BFGS), constraints,
projections and parametrisations in :mod:`robustgan.optim` know nothing about attacks; what a
particular attack needs beyond them lives here: APGD's schedule (:mod:`.apgd`), Square's random
search (:mod:`.square`), FAB's step (:mod:`.fab`) and its box-constrained hyperplane projection
(:mod:`.hyperplane`), DeepFool's step (:mod:`.deepfool`), the minimal-norm rules FMN and DDN with
the L0 ball (:mod:`.minimal_norm`), the transfer pieces DI, TI and VMI (:mod:`.transfer`) and the
per-sample penalty search of L-BFGS and Carlini–Wagner (:mod:`.penalty`).
"""
from .apgd import APGD, apgd_checkpoints
from .deepfool import DeepFoolStep
from .fab import FABStep
from .hyperplane import project_onto_hyperplane
from .minimal_norm import DDNStep, FMNStep, L0Ball
from .penalty import search_penalty
from .square import SquareSearch, square_init
from .transfer import InputDiversity, Smoothed, VarianceTuned, gaussian_kernel

__all__ = [
    "APGD", "DDNStep", "DeepFoolStep", "FABStep", "FMNStep", "InputDiversity", "L0Ball", "Smoothed",
    "SquareSearch", "VarianceTuned", "apgd_checkpoints", "gaussian_kernel", "project_onto_hyperplane",
    "search_penalty", "square_init",
]
