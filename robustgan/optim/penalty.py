"""Deprecated path of :mod:`robustgan.optim.rules.penalty`, kept for one release."""
import warnings

from .rules import penalty as _moved
from .rules.penalty import *  # noqa: F401,F403

warnings.warn("robustgan.optim.penalty is deprecated; import from robustgan.optim.rules.penalty "
              "(or robustgan.optim)", DeprecationWarning, stacklevel=2)


def __getattr__(name: str):
    return getattr(_moved, name)  # the module's other names, as before the move
