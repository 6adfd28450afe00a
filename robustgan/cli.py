"""The ``robustgan`` command: one sub-command per job, thin over the library.

Each job module exposes ``register(subparsers)``, which adds its parser and sets ``run=`` to a
function of the parsed arguments; listing the module in ``COMMANDS`` is all a new job needs.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from typing import List, Optional, Set

from .devices import resolve_device
from .interrupt import RunInterrupted

COMMANDS = [
    "robustgan.train.command",
    "robustgan.evaluate.command",
    "robustgan.gan.command",
    "robustgan.gan.inversion.command",
    "robustgan.gan.defense_command",
    "robustgan.features.command",
    "robustgan.features.export",
    "robustgan.transfer.command",
    "robustgan.experiment.command",
    "robustgan.visualize.command",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="robustgan", description="Adversarial robustness on one input optimiser.")
    sub = parser.add_subparsers(dest="command")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


_GIVEN: Optional[Set[str]] = None  # the long options typed for the command now running


def given_options() -> Optional[Set[str]]:
    """The ``--options`` typed on the command line of the running command (None outside the CLI):
    lets ``--resume`` take every setting not typed again from the run it continues."""
    return _GIVEN


def _loop_options(args):
    """The optimiser's run options of a command that has ``--amp/--compile/--sync-every``."""
    from .optim import loop_options

    if not hasattr(args, "amp"):
        return contextlib.nullcontext()
    return loop_options(amp=args.amp, compile=args.compile_model, sync_every=args.sync_every)


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if args.command is None:  # plain `robustgan` runs the main job on the built-in default
        args = parser.parse_args(["evaluate", *argv])
    global _GIVEN
    _GIVEN = {a.split("=", 1)[0] for a in argv if a.startswith("--")}
    try:
        if getattr(args, "device", None) is not None:  # one meaning of --device in every command
            args.device = resolve_device(args.device)
        with _loop_options(args):
            args.run(args)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"robustgan {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except RunInterrupted as exc:  # the job saved its state at a step boundary
        print(f"robustgan {args.command}: {exc}", file=sys.stderr)
        return 130
    finally:
        _GIVEN = None
    return 0


if __name__ == "__main__":
    sys.exit(main())
