"""The ``robustgan`` command: one sub-command per job, thin over the library.

Each job module exposes ``register(subparsers)``, which adds its parser and sets ``run=`` to a
function of the parsed arguments; listing its commands in ``COMMANDS`` is all a new job needs.
Only the module of the command typed is imported.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from typing import Dict, List, Optional, Set, Tuple

from .cli_flags import subparsers_of
from .cli_help import Parser
from .cli_renamed import RenamedFlag
from .devices import resolve_device
from .interrupt import RunInterrupted

# every top-level command: the job module that registers it, and its line in `robustgan --help`
COMMANDS: Dict[str, Tuple[str, str]] = {
    "train": ("robustgan.train.command", "train a classifier (default: the shipped Fashion-MNIST CNN)"),
    "evaluate": ("robustgan.evaluate.command", "measure a classifier's robustness and write a report"),
    "gan": ("robustgan.gan.command", "train GANs, sample from them and measure them (offline)"),
    "invert": ("robustgan.gan.inversion.command",
               "GAN inversion: the latent z with G(z) closest to each image (Creswell & Bharath 2016)"),
    "attribute": ("robustgan.gan.inversion.command", "provenance: which of K generators made an image, or none of them"),
    "defense-gan": ("robustgan.gan.defense_command", "evaluate Defense-GAN (Samangouei et al. 2018) with BPDA and EOT attacks"),
    "craft": ("robustgan.features.command", "craft an adversarial dataset under any attack, or D_R, D_NR, D_rand, "
                                            "D_det (Ilyas et al. 2019), as resumable shards"),
    "export": ("robustgan.features.export", "write a crafted dataset as npz, a PNG image folder or a Hugging Face dataset"),
    "transfer": ("robustgan.transfer.command", "the source × target success matrix of adversarial examples"),
    "experiment": ("robustgan.experiment.command", "run a paper's experiment end to end and write its table"),
    "fool": ("robustgan.visualize.command", "fooling images: ≥99.99%% confident, unrecognisable (Nguyen et al. 2015)"),
    "invert-features": ("robustgan.visualize.command", "reconstruct images from a layer's code (Mahendran & Vedaldi 2015)"),
    "maximize": ("robustgan.visualize.command", "activation maximisation by synthesis and by dataset retrieval"),
    "dream": ("robustgan.visualize.command", "DeepDream: amplify a layer's activations with octaves and jitter"),
    "texture": ("robustgan.visualize.command", "texture synthesis from Gram matrices (Gatys et al. 2015)"),
    "style": ("robustgan.visualize.command", "neural style transfer (Gatys et al. 2016)"),
    "style-net": ("robustgan.visualize.style_net_command",
                  "feed-forward style transfer: train a style network once, then stylise in one pass (Johnson et al. 2016)"),
}


class _Listed:
    """The sub-parsers a job module registers into: each top-level parser's help comes from COMMANDS."""

    def __init__(self, sub):
        self.sub = sub

    def add_parser(self, name: str, **kwargs):
        if name not in COMMANDS:
            raise KeyError(f"{name!r} is not listed in robustgan.cli.COMMANDS")
        kwargs["help"] = COMMANDS[name][1]
        return self.sub.add_parser(name, **kwargs)


def build_parser(command: Optional[str] = None, lazy: bool = False) -> argparse.ArgumentParser:
    """The whole CLI. ``lazy``: only the job module of ``command`` is imported (none when it is
    None) and the other commands are listed by name and help, so that ``robustgan --help`` and
    ``--version`` answer without importing torch."""
    from . import __version__

    parser = Parser(prog="robustgan", description="Adversarial robustness on one input optimiser.")
    parser.add_argument("--version", action="version", version=f"robustgan {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = COMMANDS[command][0] if command in COMMANDS else None
    done: Set[str] = set()
    for name, (module, line) in COMMANDS.items():
        if name in sub.choices:
            continue
        if not lazy or module == wanted:
            if module not in done:
                importlib.import_module(module).register(_Listed(sub))
                done.add(module)
        else:
            sub.add_parser(name, help=line, add_help=False)
    return parser


def _deepest(parser: argparse.ArgumentParser, argv: List[str]) -> argparse.ArgumentParser:
    """The (sub-)sub-parser the command line names: its usage is the one to show on an error."""
    for word in argv:
        subs = subparsers_of(parser)
        if word not in subs:
            break
        parser = subs[word]
    return parser


def typed_options(parser: argparse.ArgumentParser, argv: List[str]) -> Set[str]:
    """The long name of every option on the command line: a short or renamed spelling counts as the
    flag it stands for (``-n`` and ``--num-train`` as ``--num-examples``)."""
    options = _deepest(parser, argv)._option_string_actions
    typed: Set[str] = set()
    for word in argv:
        name = word.split("=", 1)[0]
        action = options.get(name)
        if isinstance(action, RenamedFlag):
            action = action.target
        if action is not None:
            typed.add(max(action.option_strings, key=len))
        elif name.startswith("--"):
            typed.add(name)
    return typed


_GIVEN: Optional[Set[str]] = None  # the long options typed for the command now running (new spellings)


def given_options() -> Optional[Set[str]]:
    """The ``--options`` typed on the command line of the running command (None outside the CLI):
    lets ``--resume`` take every setting not typed again from the run it continues."""
    return _GIVEN


def _loop_options(args):
    """The optimiser's run options of a command that has ``--amp/--compile/--sync-every/--channels-last``."""
    from .optim import loop_options

    if not hasattr(args, "amp"):
        return contextlib.nullcontext()
    return loop_options(amp=args.amp, compile=args.compile_model, sync_every=args.sync_every,
                        channels_last=args.channels_last)


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:  # plain `robustgan` runs the main job on the built-in default
        argv = ["evaluate"]
    parser = build_parser(argv[0], lazy=True)
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # answered with the usage of the sub-command that was typed
        _deepest(parser, argv).error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command is None:
        parser.error("choose a command (robustgan --help lists them)")
    global _GIVEN
    _GIVEN = typed_options(parser, argv)
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
