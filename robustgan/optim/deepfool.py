"""Deprecated path of :mod:`robustgan.optim.rules.deepfool`, kept for one release."""
import warnings

from .rules import deepfool as _moved
from .rules.deepfool import *  # noqa: F401,F403

warnings.warn("robustgan.optim.deepfool is deprecated; import from robustgan.optim.rules.deepfool "
              "(or robustgan.optim)", DeprecationWarning, stacklevel=2)


def __getattr__(name: str):
    return getattr(_moved, name)  # the module's other names, as before the move
