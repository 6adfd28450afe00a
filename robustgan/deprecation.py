"""Renamed names kept importable for one release, so that user code keeps running while it moves.

A module lists its old names with what replaced them; reading an old name warns once per call
site (Python's default filter) and returns the new object itself.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable, Dict, Tuple

Renamed = Dict[str, Tuple[str, Any]]  # old name -> (dotted path of the new name, the new object)


def renamed_attributes(module: str, renamed: Renamed) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` for ``module`` serving each old name of ``renamed`` with a
    :class:`DeprecationWarning` that says what to import instead."""

    def __getattr__(name: str) -> Any:
        if name in renamed:
            new_path, new = renamed[name]
            warnings.warn(f"{module}.{name} is deprecated; use {new_path}", DeprecationWarning, stacklevel=2)
            return new
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
