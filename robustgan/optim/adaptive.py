"""Deprecated path of :mod:`robustgan.optim.rules.apgd`, kept for one release."""
import warnings

from .rules import apgd as _moved
from .rules.apgd import *  # noqa: F401,F403

warnings.warn("robustgan.optim.adaptive is deprecated; import from robustgan.optim.rules.apgd "
              "(or robustgan.optim)", DeprecationWarning, stacklevel=2)


def __getattr__(name: str):
    return getattr(_moved, name)  # the module's other names, as before the move
