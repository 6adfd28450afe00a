"""The generators ``invert`` and ``attribute`` compare: checkpoints of both families and TorchScript files.

A ``--generator`` checkpoint is read by its ``format`` tag: ``robustgan-gan/1`` is a DCGAN (a latent
generator), ``robustgan-translation/1`` a translator (image-conditioned: its source is inverted;
CycleGAN's direction by ``--direction``, StarGAN's target domain by ``--domain``). A TorchScript
file says nothing about its input, so each ``--scripted`` file is paired with one ``--latent-dim N``
or ``--source-shape C,H,W``: the k-th of these two flags, counted together in command-line order,
describes the k-th ``--scripted`` file. The generators are compared in the order
``--generator``\\ s first, then ``--scripted`` files.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from torch import nn

from ...cli_counts import positive_int
from ...cli_flags import add_generator
from ..translate_command import add_translator_flags

TRANSLATION = "robustgan-translation/1"


@dataclass
class Loaded:
    """One generator to compare, with where it came from."""

    path: Path
    module: nn.Module
    translation: Optional[Dict[str, Any]] = None  # its translation checkpoint (whose task makes its sources)


def source_shape(text: str) -> Tuple[int, ...]:
    """``C,H,W`` (e.g. ``1,14,14``) as a shape; anything else is a usage error."""
    try:
        shape = tuple(int(v) for v in text.split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected C,H,W: three positive integers such as 1,14,14, got {text!r}")
    return shape


class _Describes(argparse.Action):
    """``--latent-dim`` / ``--source-shape``: appended, in the order typed, to one list of (kind, value)."""

    def __call__(self, parser, namespace, values, option_string: Optional[str] = None) -> None:
        setattr(namespace, self.dest, [*(getattr(namespace, self.dest) or []), [self.const, values]])


def add_generator_flags(p: argparse.ArgumentParser) -> None:
    """``--generator`` (either family's checkpoint) and ``--scripted`` with its input flags, repeatable."""
    add_generator(p, "GAN checkpoint: DCGAN or translation (robustgan gan train --arch …); repeat for several",
                  dest="generators", action="append", default=None)
    g = p.add_argument_group("TorchScript generators (the k-th --latent-dim or --source-shape, counted together "
                             "in command-line order, describes the k-th --scripted file)")
    g.add_argument("--scripted", type=Path, action="append", default=None, metavar="FILE",
                   help="a TorchScript generator (torch.jit.save); compared after the --generator ones")
    g.add_argument("--latent-dim", type=positive_int, action=_Describes, const="latent", dest="scripted_inputs",
                   default=None, metavar="N", help="the next --scripted file is a latent generator of z in R^N")
    g.add_argument("--source-shape", type=source_shape, action=_Describes, const="source", dest="scripted_inputs",
                   metavar="C,H,W", help="the next --scripted file is image-conditioned, taking sources of this shape")
    add_translator_flags(p)
    p.add_argument("--no-ema", action="store_true", help="use the trained weights even if EMA weights exist")


def paths_of(args: argparse.Namespace) -> List[Path]:
    """Every generator's file, in the order they are compared."""
    return [*(args.generators or []), *(args.scripted or [])]


def load_generators(args: argparse.Namespace) -> List[Loaded]:
    """The ``--generator`` checkpoints then the ``--scripted`` files, on ``args.device``."""
    scripted, inputs = list(args.scripted or []), list(args.scripted_inputs or [])
    if not args.generators and not scripted:
        raise ValueError("give at least one --generator CHECKPOINT or --scripted FILE")
    if len(inputs) != len(scripted):
        raise ValueError(f"{len(scripted)} --scripted files but {len(inputs)} --latent-dim/--source-shape: give "
                         "one of them per --scripted file, in the same order")
    loaded = [load_checkpoint_generator(Path(p), args) for p in args.generators or []]
    _check_translator_flags(args, [item.translation["arch"] for item in loaded if item.translation])
    from .scripted import load_scripted_generator

    for path, (kind, value) in zip(scripted, inputs):
        shape = {"latent_dim": value} if kind == "latent" else {"source_shape": tuple(value)}
        loaded.append(Loaded(Path(path), load_scripted_generator(path, device=args.device, **shape)))
    return loaded


def load_checkpoint_generator(path: Path, args: argparse.Namespace) -> Loaded:
    """A DCGAN or translation checkpoint's generator, told apart by the file's format tag."""
    from ...models.checkpoint import safe_load
    from ..build import load_generator

    ckpt = safe_load(path)
    if not isinstance(ckpt, dict) or ckpt.get("format") != TRANSLATION:
        return Loaded(path, load_generator(path, ema=not args.no_ema, device=args.device))
    from ..translation import load_translator
    from ..translation_sources import resolve_domain

    direction = args.direction if ckpt["arch"] == "cyclegan" else "ab"
    g = load_translator(path, ema=not args.no_ema, direction=direction, device=args.device)
    if ckpt["arch"] == "stargan":
        g = g.to_domain(resolve_domain(ckpt, args.domain))
    return Loaded(path, g, ckpt)


def _check_translator_flags(args: argparse.Namespace, archs: List[str]) -> None:
    """``--direction ba`` without a CycleGAN or ``--domain`` without a StarGAN would be silently ignored."""
    if args.direction != "ab" and "cyclegan" not in archs:
        raise ValueError("--direction is for CycleGAN checkpoints; no --generator is one")
    if args.domain is not None and "stargan" not in archs:
        raise ValueError("--domain is for StarGAN checkpoints; no --generator is one")


__all__ = ["Loaded", "add_generator_flags", "load_checkpoint_generator", "load_generators", "paths_of",
           "source_shape"]
