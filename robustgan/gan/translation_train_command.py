"""``robustgan gan train --arch pix2pix|cyclegan|srgan|stargan``: the image-to-image GANs under DCGAN's command.

Both families share ``gan train``'s run flags (``--out``, ``--steps``, ``--resume``/``--force``,
``--seed``, ``--device``, ``-n``, ``--width``, ``--batch-size``, ``--ema``, …). A flag of one family
given with the other's ``--arch`` is refused, naming it, because silently ignoring it would train
something other than what was asked for.

Under ``torchrun`` the command trains data-parallel as ``gan train --arch dcgan`` does: every process
trains on its share of each global batch (``--batch-size``, which must divide evenly over them), the
weights stay identical on all of them, and rank 0 alone holds and writes OUT (lock, checkpoints,
grids, history.json); ``--resume`` continues such a run on the same number of processes bit for bit.
"""
from __future__ import annotations

import argparse
import json
import time
from typing import Any, Dict, Iterable, Set, Tuple

from .translation.config import ARCHS as TRANSLATION_ARCHS
from .translation.config import CONTENT
from .translation.tasks import TASKS
from .translation_sources import DEFAULT_TASK
# DCGAN's own flags (each its GANConfig field): meaningless for a translation arch
DCGAN_ONLY = ("--loss", "--latent-dim", "--conditional", "--optimizer", "--lr-g", "--lr-d", "--betas", "--d-steps",
              "--d-norm", "--spectral-norm", "--label-smoothing", "--instance-noise", "--instance-noise-anneal",
              "--gp-weight", "--clip", "--minibatch-discrimination", "--progressive-steps",
              "--mapping-layers", "--style-mixing")
TRANSLATION_ONLY = ("--task", "--baseline", "--lambda-l1", "--lambda-cycle", "--content")
OWN = {"--baseline": ("pix2pix", "srgan"), "--lambda-l1": ("pix2pix",), "--lambda-cycle": ("cyclegan",),
       "--content": ("srgan",)}
# flag → TranslationConfig field (what --resume takes from the checkpoint unless typed again)
CONFIG_FLAGS = {"--arch": "arch", "--width": "width", "--batch-size": "batch_size", "--baseline": "adversarial",
                "--lambda-l1": "lambda_l1", "--lambda-cycle": "lambda_cycle", "--content": "content", "--ema": "ema",
                "--seed": "seed"}
TASK_FLAGS = {"--num-examples": "n", "--split": "split", "--seed": "seed"}


def add_translation_flags(p: argparse.ArgumentParser) -> None:
    """The flags only the translation architectures read."""
    g = p.add_argument_group("image-to-image GANs (--arch pix2pix, cyclegan, srgan, stargan)",
                             "they run under torchrun as DCGAN does: data-parallel, --batch-size the global batch "
                             "(divisible by the number of processes), rank 0 alone writes OUT")
    g.add_argument("--task", choices=sorted(TASKS), default=None,
                   help="what to learn (default: the arch's: pix2pix edges, srgan superres, cyclegan unpaired, "
                        "stargan domains)")
    g.add_argument("--baseline", action="store_true",
                   help="pix2pix, srgan: the same generator trained without a discriminator (L1 / content loss alone)")
    g.add_argument("--lambda-l1", type=float, default=None, help="pix2pix: weight of the L1 term (default: 100)")
    g.add_argument("--lambda-cycle", type=float, default=None,
                   help="cyclegan: weight of the cycle-consistency term (default: 10)")
    g.add_argument("--content", choices=CONTENT, default=None,
                   help="srgan: content loss on the shipped classifier's features (perceptual) or on pixels (mse; "
                        "with --baseline: SRResNet's L2 baseline) (default: perceptual)")


def typed(args: argparse.Namespace, flags: Iterable[str], defaults: Dict[str, Any]) -> Set[str]:
    """Which of ``flags`` the command line gave (from Python, where nothing is typed: those whose
    value is not ``defaults[dest]``, None when absent)."""
    from ..cli import given_options

    given = given_options()
    if given is not None:
        return {f for f in flags if f in given}
    dest = lambda f: f[2:].replace("-", "_")  # noqa: E731
    return {f for f in flags if getattr(args, dest(f), None) not in (defaults.get(dest(f)), False)}


def refuse_translation_flags(args: argparse.Namespace) -> None:
    """``gan train --arch dcgan`` with a translation flag: refused, naming it."""
    given = typed(args, TRANSLATION_ONLY, {})
    if given:
        raise ValueError(f"{', '.join(sorted(given))}: for the image-to-image archs "
                         f"({', '.join(TRANSLATION_ARCHS)}), not --arch {args.arch}")


def check_flags(args: argparse.Namespace) -> str:
    """The task to train ``args.arch`` on, after refusing DCGAN's flags and another arch's."""
    from .config import GANConfig

    foreign = typed(args, DCGAN_ONLY, vars(GANConfig()))
    if foreign:
        raise ValueError(f"{', '.join(sorted(foreign))}: DCGAN's settings, not --arch {args.arch}'s; the "
                         f"image-to-image GANs take {', '.join(TRANSLATION_ONLY)} (see robustgan gan train --help)")
    for flag in sorted(typed(args, OWN, {})):
        if args.arch not in OWN[flag]:
            raise ValueError(f"{flag} is for --arch {' or '.join(OWN[flag])}, not {args.arch}")
    if args.dataset != "fashion-mnist":
        raise ValueError(f"the translation tasks are built from Fashion-MNIST; --dataset {args.dataset} is for DCGAN")
    task = args.task or DEFAULT_TASK[args.arch]
    if task != DEFAULT_TASK[args.arch]:
        fits = [a for a, t in DEFAULT_TASK.items() if t == task]
        raise ValueError(f"--arch {args.arch} trains on --task {DEFAULT_TASK[args.arch]}, not {task} "
                         f"(that is {', '.join(fits)}'s)")
    return task


def translation_config(args: argparse.Namespace):
    """The :class:`TranslationConfig` the flags give (unset ones: the translation defaults)."""
    from .translation import TranslationConfig

    values = {"arch": args.arch, "adversarial": not args.baseline, "ema": args.ema, "seed": args.seed}
    for name in ("width", "batch_size", "lambda_l1", "lambda_cycle", "content"):
        if getattr(args, name) is not None:
            values[name] = getattr(args, name)
    return TranslationConfig(**values)


def resumed(args: argparse.Namespace, cfg, task: str, options: Dict[str, Any],
            ctx=None) -> Tuple[Any, str, Dict[str, Any]]:
    """``--resume`` continues the run in OUT with the settings its checkpoint records: only the options
    typed again override them (and one that differs is then refused by the trainer, naming it).
    Under torchrun (``ctx``) rank 0 alone reads OUT and every rank takes the settings it found."""
    from dataclasses import fields

    from ..cli import given_options
    from .translation import TranslationConfig, load_translation_checkpoint
    from .translation.trainer import CHECKPOINT

    given, path = given_options(), args.out / CHECKPOINT
    if not args.resume or given is None:
        return cfg, task, options

    def recorded() -> Any:
        if not path.exists():
            return None
        return (load_translation_checkpoint(path).get("run") or {}).get("settings") or {}

    settings = ctx.main_only(recorded) if ctx is not None else recorded()
    if settings is None:
        return cfg, task, options
    mine = {CONFIG_FLAGS[f] for f in given if f in CONFIG_FLAGS} | {"arch"}
    names = {f.name for f in fields(TranslationConfig)}
    merged = {k: v for k, v in settings.items() if k in names and k not in mine}
    cfg = TranslationConfig.from_dict({**cfg.to_dict(), **merged})
    data = dict(settings.get("data") or {})
    recorded_task = data.pop("task", task)
    for flag, key in TASK_FLAGS.items():
        if flag in given:
            data.pop(key, None)
    return cfg, recorded_task if "--task" not in given else task, {**options, **data}


def run_translation_train(args: argparse.Namespace) -> None:
    """Train ``args.arch`` into ``args.out``: checkpoint.pt, samples/, history.json. Under torchrun every
    process trains (data-parallel) and rank 0 alone holds and writes OUT, as for DCGAN."""
    from contextlib import ExitStack

    from ..distributed import setup
    from ..runs import atomic_write_json
    from .run_folder import hold_run_folder
    from .translation import load_translation_checkpoint, make_task, train_translation
    from .translation.trainer import CHECKPOINT

    if args.more_steps is not None and not args.resume:
        raise ValueError("--more-steps continues a run: use it with --resume")
    task = check_flags(args)
    options = {"n": args.num_examples, "split": args.split, "seed": args.seed, "root": args.data_dir}
    ctx = setup(args.device)  # under torchrun: every process trains, rank 0 alone holds and writes OUT
    try:
        cfg, task, options = resumed(args, translation_config(args), task, options, ctx)
        cfg.resolved()  # fail on bad settings before loading data
        with ExitStack() as held:
            hold_run_folder(held, ctx, args.out, CHECKPOINT, resume=args.resume, force=args.force)
            steps = args.steps
            if args.more_steps is not None:
                steps = int(ctx.main_only(lambda: load_translation_checkpoint(args.out / CHECKPOINT)["step"])) \
                    + args.more_steps
            t0 = time.perf_counter()
            run = train_translation(make_task(task, **options), cfg, steps=steps, out_dir=args.out,
                                    resume=args.resume, device=ctx.device, sample_every=args.sample_every,
                                    checkpoint_every=args.checkpoint_every, progress=not args.quiet)
            if ctx.is_main:
                atomic_write_json(run.history, args.out / "history.json")
    finally:
        ctx.close()
    if ctx.is_main:
        _summary(run, task, time.perf_counter() - t0)


def _summary(run, task: str, seconds: float) -> None:
    last = run.history[-1] if run.history else {}
    print(json.dumps({"checkpoint": str(run.checkpoint), "step": run.step, "arch": run.config.arch, "task": task,
                      "d_loss": last.get("d_loss"), "g_loss": last.get("g_loss"), "seconds": round(seconds, 2),
                      "config": run.config.to_dict()}, indent=2))


__all__ = ["DCGAN_ONLY", "DEFAULT_TASK", "TRANSLATION_ARCHS", "TRANSLATION_ONLY",
           "add_translation_flags", "check_flags", "refuse_translation_flags", "run_translation_train",
           "translation_config"]
