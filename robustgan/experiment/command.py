"""``robustgan experiment robust-features``."""
from __future__ import annotations

from pathlib import Path

from ..cli_flags import add_data_dir, add_device, add_out, add_seed
from ..cli_types import names, number, threat


def register(sub) -> None:
    p = sub.add_parser("experiment")
    which = p.add_subparsers(dest="experiment", required=True)
    r = which.add_parser("robust-features",
                         help="Ilyas et al. 2019: standard/robust models, D_R, D_NR, D_rand, D_det, fresh models, table")
    add_out(r, Path("runs/robust-features"), "folder for every stage's models and datasets, table.md and results.json")
    r.add_argument("--scale", default="small", help="tiny, small or paper (then override single knobs below)")
    k = r.add_argument_group("knobs of the scale", "each unset knob takes the value --scale gives it")
    k.add_argument("--train-images", type=int, default=None, help="images for the standard and robust models")
    k.add_argument("--std-epochs", type=int, default=None, help="epochs of the standard model")
    k.add_argument("--at-epochs", type=int, default=None, help="epochs of adversarial training")
    k.add_argument("--at-steps", type=int, default=None, help="inner PGD steps of adversarial training")
    k.add_argument("--craft-count", type=int, default=None, help="training images crafted into each dataset")
    k.add_argument("--invert-steps", type=int, default=None, help="feature-inversion steps (D_R, D_NR)")
    k.add_argument("--targeted-steps", type=int, default=None, help="targeted L2 PGD steps (D_rand, D_det)")
    k.add_argument("--fresh-epochs", type=int, default=None, help="epochs of the models trained on each dataset")
    r.add_argument("--fresh-shift", type=int, default=0, metavar="PIXELS",
                   help="shift each training image of the fresh models by up to PIXELS (random, zero fill)")
    k.add_argument("--eval-images", type=int, default=None, help="test images for the table")
    k.add_argument("--eval-steps", type=int, default=None, help="PGD steps of the robust-accuracy attack")
    k.add_argument("--shard-size", type=int, default=None, help="examples per shard of the crafted datasets")
    r.add_argument("--datasets", type=names, default=["robust", "nonrobust", "rand", "det"],
                   help="which crafted datasets get a row")
    r.add_argument("--eps", type=number, default=0.1, help="radius of the robust model's adversarial training")
    r.add_argument("--norm", choices=("linf", "l2"), default="linf", help="norm of the robust model's adversarial training")
    r.add_argument("--threat", type=threat, action="append", default=None, metavar="NORM:EPS",
                   help="a robust-accuracy column, e.g. linf:0.1 or l2:1 (repeat for more; default: --norm:--eps)")
    r.add_argument("--craft-eps", type=number, default=4.0, help="L2 radius of D_rand / D_det")
    r.add_argument("--layer", default=None,
                   help="representation that D_R and D_NR match, e.g. model.features (default: the 'penultimate' module)")
    r.add_argument("--standard-model", type=Path, default=None, help="use this checkpoint instead of training one")
    r.add_argument("--robust-model", type=Path, default=None, help="use this checkpoint instead of PGD-AT here")
    add_seed(r)
    add_device(r)
    add_data_dir(r)
    r.add_argument("--force", action="store_true",
                   help="recompute every stage of these settings instead of reusing the ones already in OUT")
    r.add_argument("--quiet", action="store_true", help="no progress bars")
    r.set_defaults(run=run)


KNOBS = ("train_images", "std_epochs", "at_epochs", "at_steps", "craft_count", "invert_steps", "targeted_steps",
         "fresh_epochs", "eval_images", "eval_steps", "shard_size")


def run(args) -> None:
    from .robust_features import run_experiment
    from .scales import resolve

    scale = resolve(args.scale, {k: getattr(args, k) for k in KNOBS})
    results = run_experiment(args.out, scale, eps=args.eps, norm=args.norm, threats=args.threat,
                             craft_eps=args.craft_eps, datasets=args.datasets,
                             standard_model=args.standard_model, robust_model=args.robust_model, seed=args.seed,
                             layer=args.layer, fresh_shift=args.fresh_shift,
                             device=args.device, data_dir=args.data_dir, progress=not args.quiet, force=args.force)
    print((Path(args.out) / "table.md").read_text(), end="")
    print(f"(results: {Path(args.out) / 'results.json'}, {results['total_seconds']:.0f} s)")
