"""``robustgan evaluate``."""
from __future__ import annotations

from pathlib import Path

from ..cli_types import names, numbers


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="measure a classifier's robustness and write a report")
    p.add_argument("--checkpoint", type=Path, default=None, help="classifier checkpoint (default: the shipped model)")
    p.add_argument("--dataset", default="fashion-mnist", help="fashion-mnist, cifar10 or folder:<path>")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--attacks", type=names, default=["fgsm", "pgd", "lbfgs", "cw"], help="comma-separated: fgsm,pgd,lbfgs,cw")
    p.add_argument("--norms", type=names, default=["linf", "l2"], help="norms of the FGSM/PGD sweeps")
    p.add_argument("--eps-linf", type=numbers, default=None, help="L∞ radii, e.g. 0.02,0.05,8/255")
    p.add_argument("--eps-l2", type=numbers, default=None, help="L2 radii, e.g. 0.5,1,2")
    p.add_argument("--steps", type=int, default=20, help="PGD steps")
    p.add_argument("--restarts", type=int, default=1)
    p.add_argument("-n", "--num-examples", type=int, default=1000)
    p.add_argument("--num-minimal", type=int, default=100, help="examples for L-BFGS / CW (slower)")
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("robustgan-report"))
    p.add_argument("--arch", default=None, help="architecture of a plain state-dict checkpoint: small-cnn, small-resnet, timm:<name>")
    p.add_argument("--in-channels", type=int, default=1, help="with --arch")
    p.add_argument("--num-classes", type=int, default=10, help="with --arch")
    p.add_argument("--mean", type=numbers, default=None, help="with --arch: input normalisation mean per channel")
    p.add_argument("--std", type=numbers, default=None, help="with --arch: input normalisation std per channel")
    p.add_argument("--suite", choices=["quick", "standard"], default=None,
                   help="also run an attack suite at one ε per norm (standard: APGD-CE, APGD-T, FAB-T, Square)")
    p.add_argument("--suite-eps-linf", type=float, default=0.1)
    p.add_argument("--suite-eps-l2", type=float, default=1.5)
    p.add_argument("--suite-steps", type=int, default=100, help="APGD / FAB iterations")
    p.add_argument("--suite-queries", type=int, default=5000, help="Square attack queries")
    p.add_argument("--no-checks", action="store_true", help="skip the gradient-masking self-checks")
    p.add_argument("--check-examples", type=int, default=100)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(run=run)


def run(args) -> None:
    from .job import EvaluateConfig, evaluate_job

    cfg = EvaluateConfig(
        checkpoint=args.checkpoint, dataset=args.dataset, data_dir=args.data_dir, attacks=args.attacks,
        norms=args.norms, eps_linf=args.eps_linf, eps_l2=args.eps_l2, steps=args.steps, restarts=args.restarts,
        num_examples=args.num_examples, num_minimal=args.num_minimal, batch_size=args.batch_size,
        device=args.device, seed=args.seed, out=args.out, progress=not args.quiet,
        arch=args.arch, in_channels=args.in_channels, num_classes=args.num_classes, mean=args.mean, std=args.std,
        suite=args.suite, suite_eps_linf=args.suite_eps_linf, suite_eps_l2=args.suite_eps_l2,
        suite_steps=args.suite_steps, suite_queries=args.suite_queries, checks=not args.no_checks,
        check_examples=args.check_examples,
    )
    print(evaluate_job(cfg)["summary_text"])
