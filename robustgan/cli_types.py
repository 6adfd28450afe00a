"""Argument types shared by the sub-commands."""
from __future__ import annotations

import argparse
from typing import List, Tuple


def number(text: str) -> float:
    """A float, or a fraction such as ``8/255``."""
    text = text.strip()
    if "/" in text:
        a, b = text.split("/", 1)
        return float(a) / float(b)
    return float(text)


def numbers(text: str) -> List[float]:
    """Comma-separated numbers (fractions allowed); at least one, since an empty list would
    silently fall back to the default."""
    try:
        values = [number(v) for v in text.split(",") if v.strip()]
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers (fractions like 8/255 allowed), got {text!r}")
    if not values:
        raise argparse.ArgumentTypeError(f"expected at least one number (comma-separated, e.g. 0.05,8/255), got {text!r}")
    return values


def threat(text: str) -> Tuple[str, float]:
    """``linf:0.1`` or ``l2:8/255`` → (norm, radius)."""
    norm, sep, radius = text.partition(":")
    norm = norm.strip().lower()
    if not sep or norm not in ("linf", "l2"):
        raise argparse.ArgumentTypeError(f"expected NORM:EPS with NORM linf or l2, e.g. linf:0.1, got {text!r}")
    try:
        value = number(radius)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"expected a number after ':', got {text!r}")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"the radius must be finite and > 0, got {text!r}")
    return norm, value


def names(text: str) -> List[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def add_run_flags(parser, resume: str, force: str, quiet: bool = True) -> None:
    """The flags every long job spells the same way: ``--resume`` (continue the run in --out),
    ``--force`` (replace it) and, with ``quiet``, ``--quiet``; ``resume``/``force`` say what they
    mean for this job."""
    parser.add_argument("--resume", action="store_true", help=resume)
    parser.add_argument("--force", action="store_true", help=force)
    if quiet:
        parser.add_argument("--quiet", action="store_true", help="no progress bars or summaries")


def add_loop_flags(parser) -> None:
    """How the optimiser runs in a command that attacks: mixed precision, compilation, masked rows
    (see :class:`robustgan.optim.LoopOptions`); ``robustgan.cli`` applies them around the command."""
    g = parser.add_argument_group("how the optimiser runs")
    g.add_argument("--amp", choices=["bf16", "fp16"], default=None,
                   help="run the model under autocast in this precision (inputs and steps stay float32)")
    g.add_argument("--compile", action="store_true", dest="compile_model",
                   help="run the model through torch.compile (slow first step, then faster; CPU or GPU)")
    g.add_argument("--sync-every", type=int, default=None, metavar="K",
                   help="keep retired rows in the batch, masked, and check for an early end only every K steps "
                        "(no host synchronisation in between: for GPUs)")
    g.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                   help="store the model's convolution weights channels-last for the run (off by default; faster "
                        "single-threaded on CPU; the caller's tensors are put back afterwards)")
