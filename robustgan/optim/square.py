"""Deprecated path of :mod:`robustgan.optim.rules.square`, kept for one release."""
import warnings

from .rules import square as _moved
from .rules.square import *  # noqa: F401,F403

warnings.warn("robustgan.optim.square is deprecated; import from robustgan.optim.rules.square "
              "(or robustgan.optim)", DeprecationWarning, stacklevel=2)


def __getattr__(name: str):
    return getattr(_moved, name)  # the module's other names, as before the move
