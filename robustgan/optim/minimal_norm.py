"""Deprecated path of :mod:`robustgan.optim.rules.minimal_norm`, kept for one release."""
import warnings

from .rules import minimal_norm as _moved
from .rules.minimal_norm import *  # noqa: F401,F403

warnings.warn("robustgan.optim.minimal_norm is deprecated; import from robustgan.optim.rules.minimal_norm "
              "(or robustgan.optim)", DeprecationWarning, stacklevel=2)


def __getattr__(name: str):
    return getattr(_moved, name)  # the module's other names, as before the move
