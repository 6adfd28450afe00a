"""``robustgan train``."""
from __future__ import annotations

import json
from pathlib import Path


def register(sub) -> None:
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
    p.set_defaults(run=run)


def run(args) -> None:
    from .job import train_job
    from .trainer import TrainConfig

    result = train_job(args.out, arch=args.arch, dataset=args.dataset, data_dir=args.data_dir,
                       config=TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed),
                       resume=args.resume, device=args.device)
    print(json.dumps({k: v for k, v in result.items() if k != "history"}, indent=2))
