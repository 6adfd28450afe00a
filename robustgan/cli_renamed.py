"""Old spellings that keep working for one release: renamed flags and ``--out`` given as a file.

Every command says the same thing the same way: one line on stderr that names the new spelling,
and a ``DeprecationWarning`` for code that runs the CLI in-process (tests, notebooks).
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence


def deprecated(message: str) -> None:
    """Tell the user (stderr) and calling code (``DeprecationWarning``) that a spelling is going away."""
    print(f"robustgan: deprecated: {message}", file=sys.stderr)
    warnings.warn(message, DeprecationWarning, stacklevel=3)


class RenamedFlag(argparse.Action):
    """A hidden old option string: warns, naming the new flag, then does what the new flag does."""

    def __init__(self, option_strings: Sequence[str], dest: str, target: argparse.Action, **kwargs: Any) -> None:
        self.target = target
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string: Optional[str] = None) -> None:
        new = max(self.target.option_strings, key=len)
        deprecated(f"{option_string} is now {new} (the old spelling goes in the next release)")
        self.target(parser, namespace, values, new)


def add_renamed(parser: argparse.ArgumentParser, new: str, old: Iterable[str]) -> None:
    """Accept each spelling in ``old`` as a hidden alias of the existing option ``new``."""
    old = list(old)
    target = parser._option_string_actions[new]
    if old and target.required:  # argparse would not count the alias as giving it
        raise ValueError(f"{new} is required: a renamed spelling cannot stand in for it")
    for spelling in old:
        parser.add_argument(spelling, action=RenamedFlag, target=target, dest=target.dest, nargs=target.nargs,
                            type=target.type, choices=target.choices, metavar=target.metavar,
                            default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def names_a_file(out: Path, suffixes: Iterable[str]) -> bool:
    """Whether ``--out`` ends in one of the file suffixes a command used to write to directly."""
    return Path(out).suffix.lower() in {s.lower() for s in suffixes}


def result_path(out: Path, name: str, suffixes: Iterable[str]) -> Path:
    """Where a command writes its one result file: ``OUT/name``, or, for one release, ``OUT`` itself
    when it ends in one of ``suffixes`` (the file the command used to be given)."""
    out = Path(out)
    if names_a_file(out, suffixes):
        deprecated(f"--out {out} names a file; --out is a folder now and this writes {out} as before "
                   f"only for this release (next: --out {out.with_suffix('')} writes "
                   f"{out.with_suffix('') / name})")
        return out
    return out / name
