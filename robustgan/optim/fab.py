"""Deprecated path of :mod:`robustgan.optim.rules.fab`, kept for one release."""
import warnings

from .rules import fab as _moved
from .rules.fab import *  # noqa: F401,F403

warnings.warn("robustgan.optim.fab is deprecated; import from robustgan.optim.rules.fab "
              "(or robustgan.optim)", DeprecationWarning, stacklevel=2)


def __getattr__(name: str):
    return getattr(_moved, name)  # the module's other names, as before the move
