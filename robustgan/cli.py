"""The ``robustgan`` command: one sub-command per job, thin over the library."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional


def _floats(text: str) -> List[float]:
    try:
        return [float(eval_fraction(v)) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers (fractions like 8/255 allowed), got {text!r}")


def eval_fraction(v: str) -> float:
    v = v.strip()
    if "/" in v:
        a, b = v.split("/", 1)
        return float(a) / float(b)
    return float(v)


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train a classifier (default: the shipped Fashion-MNIST CNN)")
    p.add_argument("--out", type=Path, default=Path("runs/fashion-mnist-small-cnn.pt"))
    p.add_argument("--arch", default="small-cnn", help="small-cnn, small-resnet or timm:<name>")
    p.add_argument("--dataset", default="fashion-mnist", help="fashion-mnist, cifar10 or folder:<path>")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--resume", action="store_true", help="continue from OUT's .train.pt checkpoint")


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="measure a classifier's robustness and write a report")
    p.add_argument("--checkpoint", type=Path, default=None, help="classifier checkpoint (default: the shipped model)")
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--attacks", default="fgsm,pgd,lbfgs,cw", help="comma-separated: fgsm,pgd,lbfgs,cw")
    p.add_argument("--norms", default="linf,l2", help="norms for the FGSM/PGD sweeps")
    p.add_argument("--eps-linf", type=_floats, default=None, help="L∞ radii, e.g. 0.02,0.05,0.1")
    p.add_argument("--eps-l2", type=_floats, default=None, help="L2 radii, e.g. 0.5,1,2")
    p.add_argument("--steps", type=int, default=20, help="PGD steps")
    p.add_argument("--restarts", type=int, default=1)
    p.add_argument("-n", "--num-examples", type=int, default=1000)
    p.add_argument("--num-minimal", type=int, default=100, help="examples for L-BFGS / CW (slower)")
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("robustgan-report"))
    p.add_argument("--quiet", action="store_true")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="robustgan", description="Adversarial robustness on one input optimiser.")
    sub = parser.add_subparsers(dest="command")
    _add_train(sub)
    _add_evaluate(sub)
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["evaluate", *(argv or [])])
    try:
        if args.command == "train":
            from .train.job import train_job
            from .train.trainer import TrainConfig

            result = train_job(args.out, arch=args.arch, dataset=args.dataset, data_dir=args.data_dir,
                               config=TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                                  seed=args.seed),
                               resume=args.resume, device=args.device)
            print(json.dumps({k: v for k, v in result.items() if k != "history"}, indent=2))
        elif args.command == "evaluate":
            from .evaluate.job import EvaluateConfig, evaluate_job

            cfg = EvaluateConfig(
                checkpoint=args.checkpoint, dataset=args.dataset, data_dir=args.data_dir,
                attacks=[a.strip() for a in args.attacks.split(",") if a.strip()],
                norms=[n.strip() for n in args.norms.split(",") if n.strip()],
                eps_linf=args.eps_linf, eps_l2=args.eps_l2, steps=args.steps, restarts=args.restarts,
                num_examples=args.num_examples, num_minimal=args.num_minimal, batch_size=args.batch_size,
                device=args.device, seed=args.seed, out=args.out, progress=not args.quiet,
            )
            report = evaluate_job(cfg)
            print(report["summary_text"])
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"robustgan {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
