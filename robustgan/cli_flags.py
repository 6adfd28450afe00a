"""The CLI's vocabulary: one flag per concept, spelt the same in every sub-command.

| concept                                  | flag                 |
| ---------------------------------------- | -------------------- |
| the classifier (a checkpoint)            | ``--model``          |
| a GAN (its checkpoint)                   | ``--generator``      |
| a TorchScript generator (+ its input)    | ``--scripted``       |
| a translator's direction / target domain | ``--direction``, ``--domain`` |
| how many examples the command works on   | ``-n/--num-examples``|
| where results go: always a folder        | ``--out``            |
| where the work runs                      | ``--device``         |

Roles keep their own names (``transfer --source/--target``, ``experiment --standard-model``,
``train --latent-judge``, ``invert --from-generator``), and so does ``texture/style --network``:
a feature network named by kind (``random-multiscale``, ``timm:<name>``), a checkpoint only at times.

``RENAMED`` lists the spellings each replaces; they still work for one release, hidden from
``--help``, with a deprecation notice (:mod:`robustgan.cli_renamed`).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence

from .cli_renamed import add_renamed

# old spelling → the flag that replaced it (in the sub-commands that used the old one)
RENAMED: Dict[str, str] = {
    "--checkpoint": "--model (evaluate, fool, invert-features, maximize, dream); --generator (gan sample, gan metrics)",
    "--classifier": "--model (gan metrics, defense-gan)",
    "--latent-generator": "--generator (train --adversarial latent)",
    "--num": "-n/--num-examples (gan sample, gan metrics, defense-gan, invert)",
    "--count": "-n/--num-examples (craft, transfer)",
    "--num-train": "-n/--num-examples (gan train)",
}

DEVICE_HELP = "auto (CUDA when available, else CPU), cpu, cuda, cuda:1, …"


def add_model(parser, help: str = "classifier checkpoint (default: the shipped Fashion-MNIST CNN)",
              old: Sequence[str] = ()) -> None:
    """``--model``: the classifier, a checkpoint path (unset: the command's default model)."""
    parser.add_argument("--model", type=Path, default=None, metavar="CHECKPOINT", help=help)
    add_renamed(parser, "--model", old)


def add_generator(parser, help: str, old: Sequence[str] = (), **kwargs) -> None:
    """``--generator``: a GAN checkpoint (``kwargs``: ``default``, ``required``, ``action``, ``dest``)."""
    kwargs.setdefault("type", Path)
    kwargs.setdefault("metavar", "CHECKPOINT")
    parser.add_argument("--generator", help=help, **kwargs)
    add_renamed(parser, "--generator", old)


def add_num_examples(parser, default: Optional[int], help: str, old: Sequence[str] = (),
                     type: Callable[[str], int] = int, dest: str = "num_examples") -> None:
    """``-n/--num-examples``: how many examples (images, samples) the command works on."""
    parser.add_argument("-n", "--num-examples", type=type, default=default, dest=dest, metavar="N", help=help)
    add_renamed(parser, "--num-examples", old)


def add_out(parser, default: Optional[Path], help: str, required: bool = False) -> None:
    """``--out``: the folder the command writes into (never a single file)."""
    parser.add_argument("--out", type=Path, default=None if required else default, required=required,
                        metavar="FOLDER", help=help)


def add_device(parser, default: str = "auto") -> None:
    """``--device``: resolved once for every command by :func:`robustgan.cli.main`."""
    parser.add_argument("--device", default=default, help=DEVICE_HELP)


def add_data_dir(parser) -> None:
    """``--data-dir``: where a named dataset's files are (never downloaded)."""
    parser.add_argument("--data-dir", default=None, metavar="FOLDER",
                        help="folder holding the dataset's files (default: $ROBUSTGAN_DATA, then the standard "
                             "places; Fashion-MNIST falls back to the sample that ships with the package)")


def add_seed(parser) -> None:
    parser.add_argument("--seed", type=int, default=0, help="seed of every random draw")


def subparsers_of(parser: argparse.ArgumentParser):
    """The parser's sub-command choices ({} when it has none)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    return {}
