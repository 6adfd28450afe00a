"""Defense-GAN on Fashion-MNIST, evaluated with attacks that see through the projection (BPDA, EOT).

    OMP_NUM_THREADS=1 python examples/defense_gan.py --generator runs/gan/checkpoint.pt \
        [--num 100] [--steps 200] [--restarts 10] [--out runs/defense-gan.json]

The defended model classifies G(z*), z* found by ``--steps`` Adam steps from ``--restarts`` random
starts (the paper's MNIST defaults are 200 and 10). PGD attacks it three ways: naively (the
projection's gradient is zero: a meaningless, high number), with BPDA (identity backward pass)
and with BPDA + EOT; every adversarial image is judged by the full defence.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from robustgan.data import load_dataset, take
from robustgan.gan import load_generator
from robustgan.gan.defense import evaluate_defense
from robustgan.models import load_classifier
from robustgan.models.default import default_checkpoint_path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generator", type=Path, required=True, help="an unconditional GAN checkpoint")
    ap.add_argument("--classifier", type=Path, default=None, help="default: the shipped Fashion-MNIST CNN")
    ap.add_argument("--num", type=int, default=100, help="test images")
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--steps", type=int, default=200, help="L: Adam steps of the projection")
    ap.add_argument("--restarts", type=int, default=10, help="R: random starts of the projection")
    ap.add_argument("--attack-steps", type=int, default=10, help="PGD steps")
    ap.add_argument("--attack-projection-steps", type=int, default=None, help="L inside the attack (default: L)")
    ap.add_argument("--attack-projection-restarts", type=int, default=None, help="R inside the attack (default: R)")
    ap.add_argument("--eot", type=int, default=4, help="random projections averaged by the EOT attack")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("runs/defense-gan.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    classifier = load_classifier(args.classifier or default_checkpoint_path())
    generator = load_generator(args.generator)
    ds, _ = load_dataset("fashion-mnist", "test")
    x, y = take(ds, args.num)
    report = evaluate_defense(classifier, generator, x, y, eps=args.eps, steps=args.steps, restarts=args.restarts,
                              attack_steps=args.attack_steps, attack_projection_steps=args.attack_projection_steps,
                              attack_projection_restarts=args.attack_projection_restarts, eot=args.eot, seed=args.seed)
    report["generator"] = str(args.generator)
    report["command"] = "python examples/defense_gan.py " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if v is not None)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
