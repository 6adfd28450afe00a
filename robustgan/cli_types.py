"""Argument types shared by the sub-commands."""
from __future__ import annotations

import argparse
from typing import List


def number(text: str) -> float:
    """A float, or a fraction such as ``8/255``."""
    text = text.strip()
    if "/" in text:
        a, b = text.split("/", 1)
        return float(a) / float(b)
    return float(text)


def numbers(text: str) -> List[float]:
    """Comma-separated numbers (fractions allowed)."""
    try:
        return [number(v) for v in text.split(",") if v.strip()]
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers (fractions like 8/255 allowed), got {text!r}")


def names(text: str) -> List[str]:
    return [v.strip() for v in text.split(",") if v.strip()]
