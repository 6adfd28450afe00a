"""Generative adversarial training: train a classifier on clean, pixel-adversarial and latent-adversarial examples.

    OMP_NUM_THREADS=1 python examples/latent_adversarial_training.py --generator runs/cgan/checkpoint.pt \
        [--epochs 4] [--latent 0.2] [--pixel 0.2] [--out runs/latent-at.pt]

Each batch: a fraction ``--pixel`` replaced by PGD-7 L∞ (ε = ``--pixel-eps``) adversarial examples,
a fraction ``--latent`` by latent adversarial examples G(z*, y) of a class-conditional generator
(‖z* − z₀‖∞ ≤ ``--latent-eps``, Song et al. 2018), the rest clean; same architecture, epochs,
batch size, learning rate and seed as the shipped standard model. Then both models are measured:
clean test accuracy, PGD-20 robust accuracy (pixel attack) and accuracy under the latent attack on
fresh generated samples (latent attack). Writes ``OUT`` (checkpoint) and ``OUT.json`` (report).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from robustgan.data import load_dataset
from robustgan.gan import load_generator
from robustgan.gan.latent_attack import LatentPixelMix, latent_attack
from robustgan.models import load_classifier, model_fingerprint, save_classifier
from robustgan.models.default import default_checkpoint_path
from robustgan.train.job import first, new_classifier, robust_accuracy
from robustgan.train.trainer import TrainConfig, accuracy, train_classifier


def latent_robust_accuracy(model, generator, n: int, eps: float, steps: int, seed: int) -> dict:
    """Accuracy on G(z₀, y) and under the latent attack from the same z₀ (y balanced over classes)."""
    y = torch.arange(generator.num_classes).repeat(n // generator.num_classes + 1)[:n]
    out = {"clean": 0, "robust": 0}
    for i in range(0, n, 250):
        res = latent_attack(model, generator, y[i:i + 250], eps=eps, steps=steps, seed=seed + i)
        out["clean"] += int(res.clean_correct.sum())
        out["robust"] += int((res.clean_correct & ~res.success).sum())
    return {"samples": n, "eps": eps, "steps": steps, "accuracy_generated": out["clean"] / n,
            "robust_accuracy": out["robust"] / n}


def measure(model, generator, test, args) -> dict:
    return {
        "clean_test_accuracy": accuracy(model, test),
        "pixel": {"attack": "PGD-20", "norm": "linf", "eps": args.pixel_eps, "examples": args.eval,
                  "robust_accuracy": robust_accuracy(model, test, args.pixel_eps, steps=20, n=args.eval, seed=1)},
        "latent": latent_robust_accuracy(model, generator, args.eval, args.latent_eps, 20, seed=2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generator", type=Path, required=True, help="a class-conditional GAN checkpoint")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--latent", type=float, default=0.2, help="share of each batch: latent adversarial examples")
    ap.add_argument("--pixel", type=float, default=0.2, help="share of each batch: PGD adversarial examples")
    ap.add_argument("--latent-eps", type=float, default=0.5)
    ap.add_argument("--latent-steps", type=int, default=5)
    ap.add_argument("--judge", type=Path, default=None,
                    help="classifier checkpoint whose CE(y) keeps latent examples class y ('default': the shipped CNN)")
    ap.add_argument("--judge-weight", type=float, default=1.0)
    ap.add_argument("--pixel-eps", type=float, default=0.1)
    ap.add_argument("--pixel-steps", type=int, default=7)
    ap.add_argument("--eval", type=int, default=1000, help="images for the robust accuracies")
    ap.add_argument("--train-subset", type=int, default=None, help="train on the first N images (a quick try)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("runs/latent-at.pt"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    generator = load_generator(args.generator)
    train_set, info = load_dataset("fashion-mnist", "train")
    test_set, _ = load_dataset("fashion-mnist", "test")
    train_set = first(train_set, args.train_subset)
    model, arch_kwargs = new_classifier("small-cnn", info, "fashion-mnist", args.seed)
    judge = None
    if args.judge is not None:
        judge = load_classifier(default_checkpoint_path() if str(args.judge) == "default" else args.judge)
    mix = LatentPixelMix(generator, latent=args.latent, pixel=args.pixel, latent_eps=args.latent_eps, judge=judge,
                         judge_weight=args.judge_weight,
                         latent_steps=args.latent_steps, pixel_eps=args.pixel_eps, pixel_steps=args.pixel_steps,
                         seed=args.seed)
    config = TrainConfig(epochs=args.epochs, batch_size=128, lr=1e-3, seed=args.seed)
    t0 = time.perf_counter()
    history = train_classifier(model, train_set, config, test_set=test_set, perturb=mix,
                               checkpoint=args.out.with_suffix(".train.pt"), resume=args.out.with_suffix(".train.pt").exists())
    seconds = time.perf_counter() - t0
    meta = {"dataset": "fashion-mnist", "epochs": args.epochs, "seed": args.seed, "batch_size": 128, "lr": 1e-3,
            "train_examples": len(train_set),
            "generative_adversarial": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k not in ("out", "eval")}}
    save_classifier(args.out, model, "small-cnn", arch_kwargs, {**meta, "fingerprint": model_fingerprint(model)})
    standard = load_classifier(default_checkpoint_path())
    report = {
        "command": "python examples/latent_adversarial_training.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if v is not None),
        "train_seconds": round(seconds, 1), "history": history.epochs,
        "standard": measure(standard, generator, test_set, args),
        "latent_adversarial": measure(model, generator, test_set, args),
    }
    report["clean_accuracy_drop_points"] = round(
        100 * (report["standard"]["clean_test_accuracy"] - report["latent_adversarial"]["clean_test_accuracy"]), 2)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2))
    print(json.dumps({k: v for k, v in report.items() if k != "history"}, indent=2))


if __name__ == "__main__":
    main()
