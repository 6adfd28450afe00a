"""Argument type for counts (epochs, steps): zero or a negative number is a usage error, not a no-op run."""
from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """An integer ≥ 1 (argparse reports anything else and exits with code 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value
