"""One help layout for every (sub-)command: each default shown once, and only when it says something.

``argparse.ArgumentDefaultsHelpFormatter`` prints "(default: None)" after optional inputs and
"(default: False)" after switches, and repeats a default that a help string already states; this
formatter appends ``(default: X)`` only to an option whose default is a value and whose help does
not already say what the default is.
"""
from __future__ import annotations

import argparse
import copy
import re
from pathlib import PurePath
from typing import Any, Optional


def default_text(value: Any) -> Optional[str]:
    """How a default reads in ``--help``; None when there is nothing worth showing (unset, off, empty)."""
    if value is None or value is argparse.SUPPRESS or isinstance(value, bool):
        return None
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value) if value else None
    if isinstance(value, PurePath):
        return str(value)
    return str(value)


_SAYS_DEFAULT = re.compile(r"(?<![-'\w])default(?![-'\w])", re.IGNORECASE)


def states_default(help_text: str) -> bool:
    """Whether a help string already explains the default ("default: the shipped model"), as opposed
    to naming something else that has the word in it ("default-classifier", "'default'")."""
    return bool(_SAYS_DEFAULT.search(help_text))


class DefaultsOnceFormatter(argparse.HelpFormatter):
    """Appends ``(default: X)`` to an option's help when X is a value the help does not mention."""

    @staticmethod
    def _default_note(action: argparse.Action) -> Optional[str]:
        text = action.help or ""
        if text is argparse.SUPPRESS or not action.option_strings or states_default(text):
            return None
        shown = default_text(action.default)
        return None if shown is None else "(default: " + shown.replace("%", "%%") + ")"  # help is %-formatted

    def _get_help_string(self, action: argparse.Action) -> str:
        note = self._default_note(action)
        return action.help if note is None else f"{action.help} {note}" if action.help else note

    def _format_action(self, action: argparse.Action) -> str:
        if not action.help and self._default_note(action):  # argparse prints no help line for these at all
            action = copy.copy(action)
            action.help = self._default_note(action)
        return super()._format_action(action)


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` with the one formatter; the sub-parsers it makes are of this class too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", DefaultsOnceFormatter)
        super().__init__(*args, **kwargs)
