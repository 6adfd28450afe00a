"""``robustgan gan train --arch gan-cls`` and ``robustgan gan sample --text``: GAN-CLS under the GAN command.

``gan train`` keeps its run flags (``--out``, ``--steps``, ``--more-steps``, ``--resume``/``--force``,
``--seed``, ``-n``, ``--width``, ``--latent-dim``, ``--batch-size``, the optimiser's, ``--ema``,
``--label-smoothing``) and adds ``--text-mode``; a DCGAN or translation flag that GAN-CLS would
ignore is refused, naming it.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import fields
from pathlib import Path
from typing import Tuple

from .config import MODES, TextSettings

TEXT_ARCHS = ("gan-cls",)
# DCGAN flags a gan-cls run has no use for (its models and loss are its own)
REFUSED = ("--loss", "--conditional", "--d-steps", "--spectral-norm", "--minibatch-discrimination",
           "--progressive-steps", "--mapping-layers", "--style-mixing", "--instance-noise", "--instance-noise-anneal",
           "--gp-weight", "--clip")
TEXT_WIDTH = 32  # gan-cls default where --width is not typed


def add_text_flags(p: argparse.ArgumentParser) -> None:
    """The flag only ``--arch gan-cls`` reads."""
    g = p.add_argument_group("text-to-image GAN (--arch gan-cls)")
    g.add_argument("--text-mode", choices=MODES, default=None,
                   help="cls-int: matching-aware D + interpolated captions (Reed et al.); cls: matching-aware only; "
                        "int: interpolation only; naive: a plain text-conditional GAN (default: cls-int)")


def refuse_text_flags(args: argparse.Namespace) -> None:
    """``--text-mode`` with another arch: refused, naming it."""
    if getattr(args, "text_mode", None) is not None:
        raise ValueError(f"--text-mode is for --arch gan-cls, not --arch {args.arch}")


def _config(args: argparse.Namespace):
    from ..config import GANConfig

    return GANConfig(latent_dim=args.latent_dim, width=TEXT_WIDTH if args.width is None else args.width,
                     batch_size=GANConfig().batch_size if args.batch_size is None else args.batch_size,
                     optimizer=args.optimizer, lr_g=args.lr_g, lr_d=args.lr_d,
                     betas=tuple(args.betas) if args.betas else None, d_norm=args.d_norm, seed=args.seed, ema=args.ema,
                     label_smoothing=args.label_smoothing)


def check_text_flags(args: argparse.Namespace) -> None:
    """Refuse what a gan-cls run would silently ignore."""
    from ..config import GANConfig
    from ..translation_train_command import TRANSLATION_ONLY, typed

    foreign = typed(args, REFUSED, vars(GANConfig())) | typed(args, TRANSLATION_ONLY, {})
    if foreign:
        raise ValueError(f"{', '.join(sorted(foreign))}: not a setting of --arch gan-cls (its models and its "
                         "non-saturating loss are fixed; see robustgan gan train --help)")
    if args.dataset != "fashion-mnist":
        raise ValueError(f"gan-cls captions Fashion-MNIST's classes; --dataset {args.dataset} has no captions here")
    if args.more_steps is not None and not args.resume:
        raise ValueError("--more-steps continues a run: use it with --resume")


def _resumed(args: argparse.Namespace, cfg, text: TextSettings) -> Tuple:
    """``--resume``: the settings the checkpoint records, except those typed again (a typed one that
    differs is then refused by the trainer, naming it)."""
    from ...cli import given_options
    from ..build import load_checkpoint
    from ..config import GANConfig
    from ..trainer import CHECKPOINT

    given, path = given_options(), args.out / CHECKPOINT
    if not args.resume or given is None or not path.exists():
        return cfg, text
    state = load_checkpoint(path)
    saved = dict(state["config"])
    saved.update({f.name: getattr(cfg, f.name) for f in fields(GANConfig) if "--" + f.name.replace("_", "-") in given})
    recorded_text = TextSettings.from_dict((state.get("text") or {}).get("settings") or {})
    if "--text-mode" not in given:
        text = recorded_text
    settings = (state.get("run") or {}).get("settings") or {}
    if "--num-examples" not in given and "num_train" in settings:
        args.num_examples = settings["num_train"]
    return GANConfig.from_dict(saved), text


def run_text_train(args: argparse.Namespace) -> None:
    """Train GAN-CLS into ``args.out``: checkpoint.pt, samples/, history.json."""
    from ...runs import LOCK_NAME, atomic_write_json, claim, run_lock
    from ..build import load_checkpoint
    from ..command import load_images
    from ..trainer import CHECKPOINT
    from .trainer import text_config, train_text_gan

    check_text_flags(args)
    cfg, text = _resumed(args, _config(args), TextSettings(mode=args.text_mode or "cls-int"))
    text_config(cfg)  # fail on bad settings before loading data
    text.validate()
    with run_lock(args.out / LOCK_NAME):
        claim(args.out, [args.out / CHECKPOINT, args.out / "history.json", args.out / "samples"],
              resume=args.resume, force=args.force)
        steps = args.steps
        if args.more_steps is not None:
            steps = int(load_checkpoint(args.out / CHECKPOINT)["step"]) + args.more_steps
        x, y, _ = load_images(args.dataset, args.split, args.data_dir, args.num_examples)
        t0 = time.perf_counter()
        run = train_text_gan(x, y, cfg, text, steps=steps, device=args.device, out_dir=args.out, resume=args.resume,
                             sample_every=args.sample_every, checkpoint_every=args.checkpoint_every,
                             progress=not args.quiet,
                             identity={"dataset": args.dataset, "split": args.split, "num_train": int(x.shape[0])})
        atomic_write_json(run.history, args.out / "history.json")
    last = run.history[-1] if run.history else {}
    print(json.dumps({"checkpoint": str(run.checkpoint), "step": run.step, "arch": "gan-cls", "text_mode": text.mode,
                      "d_loss": last.get("d_loss"), "g_loss": last.get("g_loss"),
                      "seconds": round(time.perf_counter() - t0, 2)}, indent=2))


def run_text_sample(args: argparse.Namespace, samples_file: str) -> Path:
    """One row of ``--nrow`` samples per ``--text`` caption (the same latents in every row), or, with
    ``--interpolate ROWS`` and two captions, ROWS rows walking from the first caption to the second."""
    from ...cli_renamed import result_path
    from ..grid import save_pixel_grid
    from .checkpoint import load_text_sampler
    from .interpolation import caption_interpolation, sample_captions

    captions = list(args.text or [])
    if not captions:
        raise ValueError(f"{args.generator} is a text-to-image checkpoint: give a caption with --text, e.g. "
                         "--text \"a dark, narrow ankle boot\"")
    for flag, value in (("--label", args.label), ("--arithmetic", args.arithmetic), ("--psi", args.psi),
                        ("--truncation", args.truncation)):
        if value is not None:
            raise ValueError(f"{flag} does not apply to a text-to-image generator")
    g, enc, _ = load_text_sampler(args.generator, ema=not args.no_ema, device=args.device)
    if args.interpolate is not None:
        if len(captions) != 2:
            raise ValueError(f"--interpolate walks between two captions: give --text twice, got {len(captions)}")
        images = caption_interpolation(g, enc, captions[0], captions[1], points=args.nrow, rows=args.interpolate,
                                       seed=args.seed)
    else:
        images = sample_captions(g, enc, captions, per_caption=args.nrow, seed=args.seed)
    path = save_pixel_grid(images, result_path(args.out, samples_file, (".png", ".jpg", ".jpeg")), nrow=args.nrow)
    print(f"wrote {path} ({images.shape[0]} images; rows: {' | '.join(captions)})")
    return path


def sample_text_if_text(args: argparse.Namespace, samples_file: str) -> bool:
    """``gan sample``: draw from a gan-cls checkpoint (True), or leave a latent one to the usual path (False);
    ``--text`` with a checkpoint that takes no captions is refused."""
    from ..build import load_checkpoint
    from .checkpoint import is_text_checkpoint

    if not Path(args.generator).exists():
        return False  # the usual path names the missing file
    if not is_text_checkpoint(load_checkpoint(args.generator)):
        if args.text:
            raise ValueError(f"--text needs a text-to-image checkpoint (gan train --arch gan-cls); {args.generator} "
                             "takes no captions")
        return False
    run_text_sample(args, samples_file)
    return True
