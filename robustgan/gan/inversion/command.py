"""``robustgan invert`` (find the latents of images) and ``robustgan attribute`` (which generator made them)."""
from __future__ import annotations

import argparse
import json
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Optional

from ...cli_flags import add_data_dir, add_device, add_num_examples, add_out, add_seed
from ...cli_types import add_run_flags, names
from .loading import add_generator_flags, paths_of


def register(sub) -> None:
    _invert_parser(sub)
    _attribute_parser(sub)


def _inversion_args(p: argparse.ArgumentParser) -> None:
    add_generator_flags(p)
    p.add_argument("--restarts", type=int, default=4, help="random starts per (generator, image); the best is kept")
    p.add_argument("--steps", type=int, default=300, help="Adam steps on z (or on the source of an image-conditioned generator)")
    p.add_argument("--lr", type=float, default=0.2, help="Adam step size on z")
    p.add_argument("--source-lr", type=float, default=0.05,
                   help="Adam step size on the source of image-conditioned generators (translators)")
    p.add_argument("--space", choices=("z", "w", "w+"), default="z",
                   help="what latent generators are inverted over: z, or a style-based generator's W or W+ "
                        "(one w per layer, from w_avg, noise fixed)")
    p.add_argument("--clip", type=float, default=None,
                   help="stochastic clipping: re-draw z coordinates leaving [−CLIP, CLIP] uniformly (default: off)")
    p.add_argument("--feature-weight", type=float, default=0.0,
                   help="add λ·‖Φ(G(z)) − Φ(x)‖²/‖Φ(x)‖², Φ = the shipped classifier's penultimate layer")
    p.add_argument("--chunk", type=int, default=None,
                   help="images per work unit, one batched run each (default: up to 8 near-equal units of ≥ 25 "
                        "images); units are what a resumed run skips and what torchrun's processes share")
    p.add_argument("--dataset", default="fashion-mnist", help="fashion-mnist, cifar10 or folder:<path>")
    add_data_dir(p)
    p.add_argument("--split", default="test", choices=("train", "test"), help="which split the images come from")
    add_device(p)
    add_seed(p)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    add_run_flags(p, "continue the run in OUT (same settings): its finished work units are loaded, not redone",
                  "replace the results OUT holds")


def _invert_parser(sub) -> None:
    p = sub.add_parser("invert")
    _inversion_args(p)
    p.add_argument("--images", type=Path, default=None,
                   help="a .pt (tensor, or dict with 'images') or .npz ('images' or 'x') file of images; "
                        "default: dataset images")
    # dest "num": the name the run's settings (and so its resume identity) record
    add_num_examples(p, 16, "images from the dataset (or from --from-generator)", old=["--num"], dest="num")
    p.add_argument("--offset", type=int, default=0, help="first dataset image to use")
    p.add_argument("--from-generator", type=Path, default=None,
                   help="invert samples of this GAN checkpoint instead (their true latents are saved too)")
    add_out(p, Path("robustgan-invert"), "folder for inversion.pt, inversion.json and reconstructions.png")
    p.set_defaults(run=run_invert)


def _attribute_parser(sub) -> None:
    p = sub.add_parser("attribute")
    _inversion_args(p)
    p.add_argument("--names", type=names, default=None, help="comma-separated generator names (default: G0, G1, …)")
    p.add_argument("--num-generated", type=int, default=100, help="fresh samples of each generator to attribute (a translator's: "
                        "made from its task's sources of test images after the real and calibration ones)")
    p.add_argument("--num-real", type=int, default=200, help="real test images to attribute (truth: none)")
    p.add_argument("--num-calibration", type=int, default=200,
                   help="held-out real images (after the test ones) that set the threshold")
    p.add_argument("--fpr", type=float, default=0.05, help="false-positive rate the threshold is calibrated for")
    p.add_argument("--images", type=Path, default=None,
                   help="attribute the images of this file instead of the evaluation set (decisions only)")
    p.add_argument("--threshold", type=float, default=None, help="with --images: use this threshold, no calibration")
    add_out(p, Path("robustgan-attribute"), "folder for report.json, report.html and the figures")
    p.set_defaults(run=run_attribute)


def load_image_file(path: Path):
    """Images from a .pt or .npz file as float (N, C, H, W) in [0, 1]; uint8 is divided by 255."""
    import numpy as np
    import torch

    from ...models.checkpoint import safe_load

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image file not found: {path}")
    if path.suffix == ".npz":
        with np.load(path) as data:
            key = next((k for k in ("images", "x") if k in data), None)
            if key is None:
                raise ValueError(f"{path}: expected an array named 'images' or 'x', found {sorted(data)}")
            x = torch.from_numpy(data[key])
    elif path.suffix == ".pt":
        obj = safe_load(path)
        x = obj.get("images") if isinstance(obj, dict) else obj
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"{path}: expected a tensor or a dict with a tensor 'images'")
    else:
        raise ValueError(f"{path}: images must be a .pt or .npz file")
    if x.dtype == torch.uint8:
        x = x.float() / 255
    if x.dim() == 3:
        x = x[:, None]
    return x.float()


def _dataset_images(args, start: int, n: int):
    from ..command import load_images

    if start < 0 or n <= 0:
        raise ValueError(f"need a positive number of images from a non-negative offset, got {n} from {start}")
    x, _, _ = load_images(args.dataset, args.split, args.data_dir, start + n)
    if x.shape[0] < start + n:
        raise ValueError(f"the {args.split} split has {x.shape[0]} images, fewer than {start + n} requested")
    return x[start:start + n]


def _setup(args):
    """The generators (loaded, then as modules) and the inversion settings the flags give."""
    import torch

    from .loading import load_generators

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    loaded = load_generators(args)
    gens = [item.module for item in loaded]
    _check_distinct(paths_of(args), gens)
    kwargs = dict(restarts=args.restarts, steps=args.steps, lr=args.lr, clip=args.clip, chunk=args.chunk, space=args.space,
                  progress=not args.quiet, source_kwargs=_source_kwargs(args, loaded))
    if args.feature_weight:
        from ...gan.metrics import DEFAULT_LAYER
        from ...models import load_classifier
        from ...models.default import default_checkpoint_path

        kwargs.update(feature_model=load_classifier(default_checkpoint_path(), device=args.device),
                      feature_layer=DEFAULT_LAYER, feature_weight=args.feature_weight)
    return loaded, gens, kwargs


def _source_kwargs(args, loaded) -> dict:
    """The image-conditioned generators' run: its step size; a super-resolution translator starts from
    the image itself, downsampled (restart 0), the others from uniform sources."""
    from ..translation_sources import recorded_task
    from .source import resized

    def init(item):
        task = recorded_task(item.translation)["task"] if item.translation else None
        return resized(item.module.source_shape) if task == "superres" else None

    return {"lr": args.source_lr, "init": [init(item) for item in loaded]}


def _check_distinct(paths, gens) -> None:
    """The same weights given twice make every comparison between them a coin toss (their residuals
    tie): refuse, naming both, instead of reporting an attribution that means nothing."""
    from ...models import model_fingerprint

    seen = {}
    for path, g in zip(paths, gens):
        fp = model_fingerprint(g)
        if fp in seen:
            raise ValueError(f"{seen[fp]} and {path} hold the same weights (fingerprint {fp}); give each "
                             f"generator once")
        seen[fp] = path


def _settings(args) -> dict:
    def plain(v):
        return str(v) if isinstance(v, Path) else [plain(x) for x in v] if isinstance(v, (list, tuple)) else v

    return {k: plain(v) for k, v in vars(args).items() if k != "run" and not callable(v)}


INVERT_RESULTS = ("inversion.pt", "inversion.json", "reconstructions.png", "state")
ATTRIBUTE_RESULTS = ("report.json", "report.html", "roc.png", "confusion.png", "reconstructions.png", "state")
NOT_IDENTITY = {"out", "quiet", "device", "threads", "resume", "force", "command"}


def _identity(args, gens, **extra) -> dict:
    """Every setting that changes the numbers (not where they go, how loudly, on which device or how
    many threads), the generators' fingerprints and ``extra`` (an image file's hash, …)."""
    from ...models import model_fingerprint

    settings = {k: v for k, v in _settings(args).items() if k not in NOT_IDENTITY}
    return {**settings, "generator_fingerprints": [model_fingerprint(g) for g in gens], **extra}


@contextmanager
def _processes(args) -> Iterator:
    """This process's place in the launch (one process, or one of torchrun's: gloo on CPU, nccl on
    CUDA with ``cuda:LOCAL_RANK`` each); the models and images go to its device."""
    from ...distributed import setup

    ctx = setup(args.device)
    args.device = ctx.device
    try:
        yield ctx
    finally:
        ctx.close()


def _folder(args, results, gens, ctx, **extra):
    """The run folder ``--out``: refused, resumed or replaced as ``--resume`` / ``--force`` say."""
    from .job import InversionRun

    return InversionRun(args.out, results, _identity(args, gens, **extra), ctx, resume=args.resume,
                        force=args.force, progress=not args.quiet)


def _file_hash(path: Optional[Path]) -> dict:
    from ...runs import file_sha256

    return {"images_sha256": file_sha256(path)} if path is not None and Path(path).is_file() else {}


def run_invert(args) -> None:
    """Invert the images, unit by unit; under torchrun every process takes its share, rank 0 writes."""
    with _processes(args) as ctx:
        _invert(args, ctx)


def _invert(args, ctx) -> None:
    import torch

    from ...models import model_fingerprint
    from ..metrics import generate

    _, gens, kwargs = _setup(args)
    true_z, extra = None, _file_hash(args.images)
    if args.from_generator is not None:
        from ..build import load_generator

        source = load_generator(args.from_generator, ema=not args.no_ema, device=args.device)
        gen = torch.Generator().manual_seed(args.seed + 1)
        true_z = source.sample_latent(args.num, gen, device=torch.device("cpu"))
        images = generate(source, args.num, seed=args.seed + 1)
        extra["source_fingerprint"] = model_fingerprint(source)
    elif args.images is not None:
        images = load_image_file(args.images)
    else:
        images = _dataset_images(args, args.offset, args.num)
    with _folder(args, INVERT_RESULTS, gens, ctx, **extra) as job:
        t0 = time.perf_counter()
        res = job.invert("invert", gens, images, seed=args.seed, **kwargs)
        seconds = time.perf_counter() - t0
        if ctx.is_main:
            _write_inversion(args, gens, images, res, true_z, seconds)


def _labelled_reconstructions(args, images, res, show: int = 12) -> None:
    """reconstructions.png: the images, then each generator's reconstruction captioned with its
    residual; the best generator's per image in red."""
    from ...report import labelled_grid

    m = min(show, images.shape[0])
    names = [Path(p).stem for p in paths_of(args)]
    residuals = res.residuals.cpu()[:, :m]
    rows = [images[:m].cpu()] + [res.reconstructions[k, :m].cpu() for k in range(len(names))]
    captions = [[f"image {i}" for i in range(m)]] + [[f"residual {float(v):.3g}" for v in residuals[k]]
                                                     for k in range(len(names))]
    marked = [[False] * m] + [[bool(res.best[i] == k) for i in range(m)] for k in range(len(names))]
    labelled_grid(rows, ["images", *names], captions, args.out / "reconstructions.png",
                  "inversions (red: the smallest residual)", marked)


def _write_inversion(args, gens, images, res, true_z, seconds: float) -> None:
    """inversion.pt (latents, residuals, images), reconstructions.png and inversion.json (rank 0)."""
    from ...models.checkpoint import atomic_save
    from ...runs import atomic_write_json
    from .parts import variables

    kept, kinds = variables(res)
    paths = [str(p) for p in paths_of(args)]
    found = {"latents": res.latents.cpu()} if all(k == "latent" for k in kinds) else {
        "variables": [v.cpu() for v in kept], "kinds": kinds}  # sources differ in shape: one tensor each
    atomic_save({**found, "residuals": res.residuals.cpu(), "images": images.cpu(), "true_latents": true_z,
                 "generators": paths}, args.out / "inversion.pt")
    _labelled_reconstructions(args, images, res)
    summary = {"images": images.shape[0], "generators": paths, "kinds": kinds, "seconds": round(seconds, 2),
               "redrawn": res.redrawn, "best_generator": res.best.tolist(), "residuals": res.residuals.tolist(),
               "settings": _settings(args)}
    if true_z is not None:  # only a latent generator's latents compare with the true ones
        err = [(v.cpu()[:, :true_z.shape[1]] - true_z).norm(dim=1) / true_z.norm(dim=1) if kind == "latent" else None
               for v, kind in zip(kept, kinds)]
        summary["latent_relative_error"] = [e.tolist() if e is not None else None for e in err]
    atomic_write_json(summary, args.out / "inversion.json")
    if not args.quiet:
        print(json.dumps({"out": str(args.out), "seconds": summary["seconds"],
                          "median_residual": res.residuals.median(dim=1).values.tolist()}, indent=2))


def run_attribute(args) -> None:
    """Attribute the images, inverting them unit by unit; under torchrun every process takes its
    share of the units, rank 0 writes."""
    with _processes(args) as ctx:
        _attribute(args, ctx)


def _attribute(args, ctx) -> None:
    import functools

    import torch

    from ...runs import atomic_write_json
    from .attribute import NONE, calibrate_threshold, decide
    from .provenance import attribution_experiment

    if not 0 <= args.fpr < 1:
        raise ValueError(f"--fpr must be in [0, 1), got {args.fpr}")
    loaded, gens, kwargs = _setup(args)
    labels: List[str] = args.names or [f"G{i}" for i in range(len(gens))]
    if len(labels) != len(gens):
        raise ValueError(f"{len(gens)} generators but {len(labels)} names")
    if args.images is not None:
        images = load_image_file(args.images)
        with _folder(args, ATTRIBUTE_RESULTS, gens, ctx, **_file_hash(args.images)) as job:
            threshold: Optional[float] = args.threshold
            if threshold is None:
                held_out = _dataset_images(args, 0, args.num_calibration)
                calibrated = job.invert("calibration", gens, held_out, seed=args.seed + 1, **kwargs)
                threshold = calibrate_threshold(calibrated.residuals.min(0).values.cpu(), args.fpr)
            res = job.invert("images", gens, images, seed=args.seed, **kwargs)
            if not ctx.is_main:
                return
            att = decide(res.residuals.cpu(), threshold)
            decisions = ["none" if int(d) == NONE else labels[int(d)] for d in att.decision]
            report = {"threshold": threshold, "decisions": decisions, "residuals": att.residuals.T.tolist(),
                      "generators": labels, "settings": _settings(args)}
            atomic_write_json(report, args.out / "report.json")
        if not args.quiet:
            print(json.dumps({"out": str(args.out), "threshold": threshold, "decisions": decisions}, indent=2))
        return
    real = _dataset_images(args, 0, args.num_real) if args.num_real else torch.zeros(0, 1, 28, 28)
    calibration = _dataset_images(args, args.num_real, args.num_calibration)
    with _folder(args, ATTRIBUTE_RESULTS, gens, ctx) as job:
        run = attribution_experiment(gens, real, calibration, names=labels, num_generated=args.num_generated,
                                     fpr=args.fpr, seed=args.seed, inverter=functools.partial(job.invert, "attribute"),
                                     sources=_sources(args, loaded), **kwargs)
        if ctx.is_main:
            _write_attribution(args, run, len(gens))


def _sources(args, loaded) -> list:
    """What each translator makes its test images from: its task's sources of test images after the real
    and calibration ones (None: a latent generator, or a scripted one, whose sources are uniform)."""
    from ..translation_sources import translator_sources

    skip = args.num_real + args.num_calibration
    return [translator_sources(item.translation, item.module, args.num_generated, direction=args.direction,
                               domain=args.domain, split=args.split, skip=skip, root=args.data_dir)
            if item.translation is not None and args.num_generated else None for item in loaded]


def _write_attribution(args, run, num_generators: int) -> None:
    """report.json, the ROC and confusion figures and reconstructions.png (rank 0)."""
    import torch

    from ...report import labelled_grid
    from ...runs import atomic_write_json
    from .attribute import NONE
    from .plots import plot_confusion, plot_roc

    report = dict(run.report)
    report["settings"] = _settings(args)
    report["command"] = "robustgan attribute " + " ".join(_argv_of(args))
    rocs = report.pop("roc")
    atomic_write_json({**report, "roc": rocs}, args.out / "report.json")
    plot_roc(rocs, args.out / "roc.png")
    plot_confusion(report["confusion"]["matrix"], report["confusion"]["labels"], args.out / "confusion.png")
    show = torch.cat([(run.truth == i).nonzero().squeeze(1)[:4] for i in [*range(num_generators), NONE]])
    names = [Path(p).stem for p in paths_of(args)]
    source = lambda t: "real" if int(t) == NONE else names[int(t)]  # noqa: E731
    decided = run.attribution.decision[show].cpu()
    residuals = run.inversion.residuals[:, show].cpu()
    captions = [[f"from {source(t)}\n→ {source(d)}" for t, d in zip(run.truth[show].cpu(), decided)]]
    captions += [[f"residual {float(v):.3g}" for v in residuals[k]] for k in range(num_generators)]
    marked = [[bool(d != t) for t, d in zip(run.truth[show].cpu(), decided)]]
    marked += [[bool(d == k) for d in decided] for k in range(num_generators)]
    labelled_grid([run.images[show].cpu()] + [run.inversion.reconstructions[k, show].cpu() for k in range(num_generators)],
                  ["images", *names], captions, args.out / "reconstructions.png",
                  "attribution (first row red: a wrong decision; below, red: the generator chosen)", marked)
    from ...report import json_markdown, write_html

    figures = {"ROC": "roc.png", "confusion": "confusion.png", "reconstructions (first row: the images)": "reconstructions.png"}
    write_html(args.out / "report.html", "Attribution report",
               json_markdown("Attribution report", report, figures, skip=("command",)))
    if not args.quiet:
        keys = ("accuracy_generated", "real_labelled_none", "threshold", "calibration_fpr", "auc")
        print(json.dumps({"out": str(args.out), **{k: report.get(k) for k in keys},
                          "seconds": report["inversion"]["seconds"]}, indent=2))


def _argv_of(args) -> List[str]:
    """The options that reproduce this run, for the report."""
    out: List[str] = []
    for g in args.generators or []:
        out += ["--generator", str(g)]
    for path, (kind, value) in zip(args.scripted or [], args.scripted_inputs or []):
        shape = ",".join(map(str, value)) if kind == "source" else str(value)
        out += ["--scripted", str(path), "--source-shape" if kind == "source" else "--latent-dim", shape]
    for key in ("direction", "domain", "names", "num_generated", "num_real", "num_calibration", "fpr", "restarts",
                "steps", "lr", "source_lr", "clip", "feature_weight", "seed", "dataset", "split"):
        v = getattr(args, key, None)
        if v is None or v is False:
            continue
        v = ",".join(v) if isinstance(v, list) else v
        out += [f"--{key.replace('_', '-')}", str(v)]
    return out
