"""Deprecated path of :mod:`robustgan.optim.rules.transfer`, kept for one release."""
import warnings

from .rules import transfer as _moved
from .rules.transfer import *  # noqa: F401,F403

warnings.warn("robustgan.optim.transfer is deprecated; import from robustgan.optim.rules.transfer "
              "(or robustgan.optim)", DeprecationWarning, stacklevel=2)


def __getattr__(name: str):
    return getattr(_moved, name)  # the module's other names, as before the move
