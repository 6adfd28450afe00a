"""Deprecated path of :mod:`robustgan.optim.rules.hyperplane`, kept for one release."""
import warnings

from .rules import hyperplane as _moved
from .rules.hyperplane import *  # noqa: F401,F403

warnings.warn("robustgan.optim.hyperplane is deprecated; import from robustgan.optim.rules.hyperplane "
              "(or robustgan.optim)", DeprecationWarning, stacklevel=2)


def __getattr__(name: str):
    return getattr(_moved, name)  # the module's other names, as before the move
