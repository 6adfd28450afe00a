"""``robustgan gan {train, sample, metrics, translate}``."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Optional, Tuple

from ..cli_counts import positive_int
from ..cli_flags import add_data_dir, add_device, add_generator, add_model, add_num_examples, add_out, add_seed
from ..cli_renamed import result_path
from ..cli_types import add_run_flags, names, numbers
from .translate_command import register_translate

SAMPLES_FILE = "samples.png"  # gan sample: OUT/samples.png
METRICS_FILE = "metrics.json"  # gan metrics: OUT/metrics.json beside OUT/metrics.html


DEFAULT_GENERATOR = Path("runs/gan/checkpoint.pt")  # what `gan train` writes by default


def register(sub) -> None:
    p = sub.add_parser("gan")
    p.set_defaults(run=_missing)
    gsub = p.add_subparsers(dest="gan_command")
    _train_parser(gsub)
    _sample_parser(gsub)
    _metrics_parser(gsub)
    register_translate(gsub)


def _missing(args) -> None:
    raise ValueError("choose a sub-command: robustgan gan train | sample | metrics | translate (see --help)")


def _common_data(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default="fashion-mnist", help="fashion-mnist, cifar10 or folder:<path>")
    add_data_dir(p)
    add_device(p)
    add_seed(p)


def _train_parser(gsub) -> None:
    from .config import ARCHS, GANConfig
    from .models import NORMS
    from .registry import loss_names
    from .text.command import TEXT_ARCHS, add_text_flags
    from .translation_train_command import TRANSLATION_ARCHS, add_translation_flags

    d = GANConfig()
    p = gsub.add_parser("train", help="train a GAN (default: DCGAN, non-saturating loss, Fashion-MNIST) or an "
                                      "image-to-image GAN (pix2pix, cyclegan, srgan, stargan)")
    p.add_argument("--loss", default=d.loss, help="DCGAN's loss, one of: " + ", ".join(loss_names()))
    p.add_argument("--arch", default=d.arch, choices=(*ARCHS, *TRANSLATION_ARCHS, *TEXT_ARCHS),
                   help="dcgan (latent → image), progressive (growing, Karras et al.), lapgan (Laplacian pyramid), "
                        "style (style-based G, Karras et al. 2019), an image-to-image GAN trained on --task, or "
                        "gan-cls (text → image, Reed et al. 2016, on captioned Fashion-MNIST)")
    _common_data(p)
    p.add_argument("--split", default="train", choices=("train", "test"), help="which split to learn")
    add_num_examples(p, None, "use only the first N images of the split (default: all; a translation task: N in a "
                              "seeded order, N per domain for cyclegan)", old=["--num-train"])
    add_out(p, Path("runs/gan"), "folder for checkpoint.pt, samples/, history.json")
    p.add_argument("--steps", type=positive_int, default=5000,
                   help="total generator steps (a resumed run counts the steps already done)")
    p.add_argument("--more-steps", type=positive_int, default=None,
                   help="with --resume: train this many steps beyond the checkpoint")
    add_run_flags(p, "continue from OUT/checkpoint.pt with the settings and data it records (options typed again "
                     "must agree)", "delete the run already in OUT and train anew", quiet=False)
    p.add_argument("--batch-size", type=int, default=None,
                   help=f"real images per step (default: {d.batch_size} for DCGAN, 16 for the image-to-image GANs)")
    p.add_argument("--latent-dim", type=int, default=d.latent_dim, help="size of the latent z")
    p.add_argument("--width", type=int, default=None,
                   help=f"base channel count: DCGAN's ngf = ndf (default: {d.width}; the image-to-image GANs: 32)")
    p.add_argument("--conditional", action="store_true", help="feed class labels into G and D (any DCGAN loss)")
    p.add_argument("--optimizer", choices=("adam", "rmsprop"), default=None, help="default: the loss's")
    p.add_argument("--lr-g", type=float, default=None, help="default: the loss's")
    p.add_argument("--lr-d", type=float, default=None, help="default: the loss's")
    p.add_argument("--betas", type=numbers, default=None, help="Adam betas, e.g. 0.5,0.999 (default: the loss's)")
    p.add_argument("--d-steps", type=int, default=None, help="discriminator steps per generator step (default: the loss's)")
    p.add_argument("--d-norm", choices=NORMS, default=None, help="discriminator normalisation (default: the loss's)")
    p.add_argument("--spectral-norm", action="store_true", help="spectral normalisation of D's weights")
    p.add_argument("--ema", type=float, default=d.ema, help="EMA decay of G's weights, e.g. 0.999 (0 = off)")
    p.add_argument("--label-smoothing", type=float, default=d.label_smoothing, help="one-sided: real target 1 − s")
    p.add_argument("--instance-noise", type=float, default=d.instance_noise, help="σ of noise added to D's inputs")
    p.add_argument("--instance-noise-anneal", type=int, default=d.instance_noise_anneal, help="steps to anneal σ to 0")
    p.add_argument("--gp-weight", type=float, default=d.gp_weight, help="λ of WGAN-GP / DRAGAN")
    p.add_argument("--clip", type=float, default=d.clip, help="WGAN weight-clipping bound")
    p.add_argument("--minibatch-discrimination", type=int, default=d.minibatch_discrimination, metavar="K",
                   help="K minibatch-discrimination kernels before D's score (Salimans et al. 2016; 0 = off)")
    p.add_argument("--progressive-steps", type=int, default=d.progressive_steps,
                   help="--arch progressive: iterations per fade-in and per stabilisation phase")
    p.add_argument("--mapping-layers", type=int, default=None,
                   help="--arch style: FC layers of the mapping network z → w (1-8; default 4)")
    p.add_argument("--style-mixing", type=float, default=None,
                   help="--arch style: probability of style mixing per batch (default 0.9)")
    p.add_argument("--sample-every", type=int, default=500, help="generator steps between sample grids")
    p.add_argument("--checkpoint-every", type=int, default=500, help="generator steps between checkpoints")
    p.add_argument("--quiet", action="store_true", help="no progress bars or summaries")
    add_translation_flags(p)
    add_text_flags(p)
    p.set_defaults(run=run_train)


def _sample_parser(gsub) -> None:
    p = gsub.add_parser("sample", help="draw a PNG grid from a trained generator (truncation, interpolation, arithmetic)")
    add_generator(p, "GAN checkpoint (robustgan gan train)", old=["--checkpoint"], default=DEFAULT_GENERATOR)
    add_out(p, Path("robustgan-samples"), f"folder for {SAMPLES_FILE}")
    add_num_examples(p, 64, "samples drawn", old=["--num"])
    p.add_argument("--nrow", type=int, default=8, help="images per row of the grid")
    add_seed(p)
    add_device(p)
    p.add_argument("--no-ema", action="store_true", help="use the trained weights even if EMA weights exist")
    p.add_argument("--truncation", type=float, default=None, help="redraw latent entries with |z| above this")
    p.add_argument("--psi", type=float, default=None,
                   help="style generators: truncation ψ in W toward the mean w (1 = off, 0 = the mean image)")
    p.add_argument("--label", type=int, default=None, help="class to draw (conditional generators)")
    p.add_argument("--interpolate", type=int, default=None, metavar="ROWS",
                   help="ROWS spherical interpolations between random latents, --nrow points each")
    p.add_argument("--arithmetic", type=names, default=None, metavar="A,B,C",
                   help="class-mean latent arithmetic A − B + C (unconditional G; classes by the shipped classifier)")
    p.add_argument("--text", action="append", default=None, metavar="CAPTION",
                   help="gan-cls generators: a caption, e.g. \"a dark, narrow ankle boot\" (one row of --nrow "
                        "samples each; repeat for more rows; two with --interpolate: a walk between them)")
    p.set_defaults(run=run_sample)


def _metrics_parser(gsub) -> None:
    p = gsub.add_parser("metrics", help="FID-local, KID-local, precision/recall, class counts (+ Inception FID)")
    add_generator(p, "GAN checkpoint (robustgan gan train)", old=["--checkpoint"], default=DEFAULT_GENERATOR)
    _common_data(p)
    p.add_argument("--split", default="test", choices=("train", "test"), help="real images to compare with")
    add_num_examples(p, 5000, "generated samples (and real ones, capped at the split)", old=["--num"])
    add_model(p, "feature classifier (default: the shipped Fashion-MNIST CNN)", old=["--classifier"])
    p.add_argument("--inception-weights", type=Path, default=None, help="also compute Inception FID (needs torch-fidelity)")
    p.add_argument("--kid-subsets", type=int, default=100, help="random subsets KID is averaged over")
    p.add_argument("--kid-subset-size", type=int, default=1000, help="images in each KID subset")
    p.add_argument("--k", type=int, default=3, help="neighbourhood size of precision/recall")
    p.add_argument("--truncation", type=float, default=None, help="redraw latent entries with |z| above this")
    p.add_argument("--no-ema", action="store_true", help="use the trained weights even if EMA weights exist")
    p.add_argument("--baseline", action="store_true", help="also measure an untrained generator of the same architecture")
    add_out(p, None, f"folder for {METRICS_FILE} and metrics.html (default: print the metrics only)")
    p.set_defaults(run=run_metrics)


def load_images(dataset: str, split: str, data_dir: Optional[str], n: Optional[int]) -> Tuple:
    """(images, labels or None, number of classes) of a dataset split, the first ``n`` when given."""
    import torch
    from torch.utils.data import TensorDataset

    from ..data import load_dataset, take

    ds, info = load_dataset(dataset, split, data_dir)
    if n is not None and n <= 0:
        raise ValueError(f"the number of images must be positive, got {n}")
    if isinstance(ds, TensorDataset):
        x, y = (t[:n] for t in ds.tensors) if n is not None else ds.tensors
    else:
        x, y = take(ds, n)
    return x.float(), torch.as_tensor(y).long(), len(info.classes)


def run_train(args) -> None:
    from contextlib import ExitStack

    from ..distributed import setup
    from .run_folder import hold_run_folder
    from .config import GANConfig
    from .trainer import CHECKPOINT
    from .text.command import TEXT_ARCHS, refuse_text_flags, run_text_train
    from .translation_train_command import TRANSLATION_ARCHS, refuse_translation_flags, run_translation_train

    if args.arch in TEXT_ARCHS:
        return run_text_train(args)
    refuse_text_flags(args)
    if args.arch in TRANSLATION_ARCHS:
        return run_translation_train(args)
    refuse_translation_flags(args)
    d = GANConfig()
    args.width = d.width if args.width is None else args.width
    args.batch_size = d.batch_size if args.batch_size is None else args.batch_size
    if args.more_steps is not None and not args.resume:
        raise ValueError("--more-steps continues a run: use it with --resume")
    if args.betas is not None and len(args.betas) != 2:
        raise ValueError(f"--betas takes two numbers, got {args.betas}")
    cfg = GANConfig(loss=args.loss, arch=args.arch, latent_dim=args.latent_dim, width=args.width,
                    conditional=args.conditional, batch_size=args.batch_size, optimizer=args.optimizer,
                    lr_g=args.lr_g, lr_d=args.lr_d, betas=tuple(args.betas) if args.betas else None,
                    d_steps=args.d_steps, d_norm=args.d_norm, spectral_norm=args.spectral_norm, seed=args.seed,
                    ema=args.ema, label_smoothing=args.label_smoothing, instance_noise=args.instance_noise,
                    instance_noise_anneal=args.instance_noise_anneal, gp_weight=args.gp_weight, clip=args.clip,
                    minibatch_discrimination=args.minibatch_discrimination, progressive_steps=args.progressive_steps,
                    mapping_layers=args.mapping_layers, style_mixing=args.style_mixing)
    if args.resume:
        cfg = _resumed_config(args, cfg)
    cfg.resolved()  # fail on bad settings before loading data
    ctx = setup(args.device)  # under torchrun: every process trains, rank 0 alone holds and writes OUT
    try:
        with ExitStack() as held:
            hold_run_folder(held, ctx, args.out, CHECKPOINT, resume=args.resume, force=args.force)
            _train(args, cfg, ctx)
    finally:
        ctx.close()


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


# argument → the key its value has in a checkpoint's run settings
RECORDED_DATA = {"dataset": "dataset", "split": "split", "num_examples": "num_train"}


def _resumed_config(args, cfg):
    """``gan train --resume`` continues the run in OUT with the settings its checkpoint records:
    only the options typed again override them (and a typed value that differs is refused by the
    trainer, naming it). From Python, or under torchrun (where rank 0 alone may see OUT), every
    setting is as given."""
    import os
    from dataclasses import fields

    from ..cli import given_options
    from .build import load_checkpoint
    from .config import GANConfig
    from .trainer import CHECKPOINT

    given = given_options()
    path = args.out / CHECKPOINT
    if given is None or int(os.environ.get("WORLD_SIZE", "1")) > 1 or not path.exists():
        return cfg
    recorded = (load_checkpoint(path).get("run") or {}).get("settings") or {}
    names = {f.name for f in fields(GANConfig)}
    merged = {k: v for k, v in recorded.items() if k in names}
    merged.update({k: getattr(cfg, k) for k in names if _flag(k) in given or k not in merged})
    for name, key in RECORDED_DATA.items():  # the data the run learnt from
        if _flag(name) not in given and key in recorded:
            setattr(args, name, recorded[key])
    return GANConfig.from_dict(merged)


def _train(args, cfg, ctx) -> None:
    """Train into ``args.out`` (held by rank 0); the data's identity goes into the checkpoint."""
    from ..runs import atomic_write_text
    from .build import load_checkpoint
    from .trainer import CHECKPOINT, train_gan

    steps = args.steps
    if args.more_steps is not None:
        steps = int(ctx.main_only(lambda: load_checkpoint(args.out / CHECKPOINT)["step"])) + args.more_steps
    x, y, num_classes = load_images(args.dataset, args.split, args.data_dir, args.num_examples)
    t0 = time.perf_counter()
    run = train_gan(x, y, cfg, steps=steps, num_classes=num_classes, out_dir=args.out, resume=args.resume,
                    device=ctx.device, sample_every=args.sample_every, checkpoint_every=args.checkpoint_every,
                    progress=not args.quiet,
                    identity={"dataset": args.dataset, "split": args.split, "num_train": int(x.shape[0])})
    seconds = time.perf_counter() - t0
    if not ctx.is_main:
        return
    atomic_write_text(json.dumps(run.history), args.out / "history.json")
    last = run.history[-1] if run.history else {}
    print(json.dumps({"checkpoint": str(run.checkpoint), "step": run.step, "loss": run.config.loss,
                      "d_loss": last.get("d_loss"), "g_loss": last.get("g_loss"), "seconds": round(seconds, 2),
                      "config": run.config.to_dict()}, indent=2))


def _generator(args):
    from .build import load_generator

    return load_generator(args.generator, ema=not args.no_ema, device=args.device)


def run_sample(args) -> None:
    import torch

    from .grid import save_pixel_grid as save_grid
    from .latent import attribute_vector, class_mean_latents, interpolation_grid
    from .metrics import generate
    from .text.command import sample_text_if_text

    if sample_text_if_text(args, SAMPLES_FILE):
        return
    g = _generator(args)
    if args.psi is not None:
        if not hasattr(g, "truncation_psi"):
            raise ValueError("--psi truncates in W: it needs a style-based generator (gan train --arch style)")
        g.truncation_psi = float(args.psi)
    gen = torch.Generator().manual_seed(args.seed)
    device = next(g.parameters()).device
    if args.interpolate is not None or args.arithmetic is not None:
        if args.interpolate is not None:
            rows = args.interpolate
            z0, z1 = (g.sample_latent(rows, gen, device=torch.device("cpu")) for _ in range(2))
            z = interpolation_grid(z0, z1, args.nrow)
            labels = torch.randint(0, g.num_classes, (rows,), generator=gen).repeat_interleave(args.nrow) if g.num_classes else None
        else:
            from ..models import load_classifier
            from ..models.default import default_checkpoint_path

            if len(args.arithmetic) != 3:
                raise ValueError(f"--arithmetic takes three classes A,B,C, got {args.arithmetic}")
            a, b, c = (int(v) for v in args.arithmetic)
            means, _ = class_mean_latents(g, load_classifier(default_checkpoint_path(), device=device), 4000, gen)
            target = attribute_vector(means, a, b, c)
            near = target + 0.25 * torch.randn(args.nrow - 4, target.shape[0], generator=gen)
            z = torch.cat([means[[a, b, c]], target[None], near])
            labels = None
        with torch.no_grad():
            from ..optim.freeze import frozen

            with frozen([g]):
                images = g(z.to(device), labels.to(device) if labels is not None else None).cpu()
    else:
        labels = None
        if args.label is not None:
            if not g.num_classes:
                raise ValueError("--label needs a conditional generator")
            if not 0 <= args.label < g.num_classes:
                raise ValueError(f"--label must be in [0, {g.num_classes}), got {args.label}")
            labels = torch.full((args.num_examples,), args.label, dtype=torch.long)
        images = generate(g, args.num_examples, seed=args.seed, labels=labels, truncation=args.truncation)
    path = save_grid(images, result_path(args.out, SAMPLES_FILE, (".png", ".jpg", ".jpeg")), nrow=args.nrow)
    print(f"wrote {path} ({images.shape[0]} images)")


def run_metrics(args) -> None:
    import torch

    from .build import build_generator, load_checkpoint
    from .metrics import FeatureExtractor, evaluate_samples, generate, inception_fid

    g = _generator(args)
    real, _, _ = load_images(args.dataset, args.split, args.data_dir, args.num_examples)
    if args.model is not None:
        from ..models import load_classifier

        extractor = FeatureExtractor(load_classifier(args.model, device=args.device))
    else:
        extractor = FeatureExtractor.default(device=args.device)
    kw = dict(kid_subsets=args.kid_subsets, kid_subset_size=args.kid_subset_size, k=args.k, seed=args.seed)
    fake = generate(g, args.num_examples, seed=args.seed, truncation=args.truncation)
    result = {"checkpoint": str(args.generator), "step": int(load_checkpoint(args.generator)["step"]),
              "note": "fid_local/kid_local use the feature classifier's penultimate layer, not Inception: "
                      "not comparable with published FID/KID",
              **evaluate_samples(real, fake, extractor, **kw)}
    if args.inception_weights is not None:
        result["fid_inception"] = inception_fid(real, fake, args.inception_weights, device=args.device)
    if args.baseline:
        ckpt = load_checkpoint(args.generator)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(args.seed)
            untrained = build_generator(ckpt["generator_kwargs"]).to(args.device)
        result["untrained"] = evaluate_samples(real, generate(untrained, args.num_examples, seed=args.seed), extractor, **kw)
    text = json.dumps(result, indent=2)
    for warning in result.get("warnings", []):
        print(f"warning: {warning}", file=sys.stderr)
    if args.out is not None:
        from ..report import json_markdown, write_html

        path = result_path(args.out, METRICS_FILE, (".json",))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        write_html(path.with_suffix(".html"), "GAN metrics", json_markdown("GAN metrics", result))
        print(f"wrote {path} and {path.with_suffix('.html').name}", file=sys.stderr)
    print(text)
