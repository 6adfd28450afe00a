"""``robustgan craft``: the robust / non-robust feature datasets of Ilyas et al. (2019)."""
from __future__ import annotations

import json
from pathlib import Path

from ..cli_counts import positive_int
from ..cli_flags import add_data_dir, add_device, add_model, add_num_examples, add_out, add_seed
from ..cli_types import add_run_flags, add_loop_flags, number


def register(sub) -> None:
    p = sub.add_parser("craft")
    p.add_argument("kind", choices=["adversarial", "robust", "nonrobust", "rand", "det"],
                   help="adversarial: the images under --attack (true labels kept); robust: D_R (needs --model "
                        "robust), nonrobust: D_NR, rand: D_rand, det: D_det")
    add_out(p, None, "folder for the shards and manifest.json", required=True)
    add_model(p, "classifier checkpoint; robust needs an adversarially trained one (default: the shipped model)")
    p.add_argument("--dataset", default="fashion-mnist",
                   help="fashion-mnist, cifar10, folder:<path>, npz:<file>, hf:<folder> or crafted:<folder>")
    add_data_dir(p)
    add_num_examples(p, 1000, "images to craft (the first N of the split)", old=["--count"])
    p.add_argument("--split", choices=["train", "test"], default=None,
                   help="which split to read (default: test for adversarial, train for the others)")
    p.add_argument("--attack", default=None, help="adversarial: any attack of the zoo (pgd, apgd, fmn, difgsm, …)")
    p.add_argument("--norm", default="linf", help="adversarial: the attack's norm (linf, l2, l1, l0)")
    p.add_argument("--target-mode", choices=["none", "random", "next", "least-likely"], default="none",
                   help="adversarial: untargeted, or toward a random other class, y + 1, or the least likely class")
    p.add_argument("--quantize", action="store_true",
                   help="adversarial: quantisation-aware crafting (8-bit images that stay in the ball and "
                        "keep fooling: the examples rounding breaks continue on the 1/255 grid)")
    p.add_argument("--shard-size", type=int, default=500, help="examples per shard file (the unit a resumed run skips)")
    p.add_argument("--batch-size", type=int, default=250, help="examples crafted at once")
    p.add_argument("--steps", type=positive_int, default=None,
                   help="inversion: 200, targeted PGD: 100, adversarial: the attack's own default")
    p.add_argument("--step-size", type=number, default=None, help="L2 length of each step (inversion 0.5, targeted 0.1)")
    p.add_argument("--eps", type=number, default=None,
                   help="radius: of the targeted L2 attack (rand, det; default 4) or of --attack (adversarial)")
    p.add_argument("--layer", default=None, help="representation layer (default: the module named 'penultimate')")
    p.add_argument("--start", choices=["image", "noise"], default="image",
                   help="robust/nonrobust: invert from another training image (Ilyas et al.) or from uniform noise")
    add_seed(p)
    add_device(p)
    add_run_flags(p, "continue the run in OUT (same settings): craft missing or damaged shards, or a larger -n",
                  "delete the shards already in OUT and craft them anew")
    add_loop_flags(p)
    p.set_defaults(run=run)


def adversarial_summary(out: Path) -> dict:
    """Success rate and median distortion over the finished shards."""
    from .dataset import CraftedDataset

    data = CraftedDataset(out, partial=True)
    return {"success_rate": float(data.extras["success"].float().mean()),
            "median_distortion": float(data.extras["distortion"].median())}


def run(args) -> None:
    from ..distributed import is_main_process
    from .job import craft_job

    result = craft_job(args.kind, args.out, checkpoint=args.model, dataset=args.dataset, data_dir=args.data_dir,
                       device=args.device, progress=not args.quiet, count=args.num_examples, shard_size=args.shard_size,
                       batch_size=args.batch_size, steps=args.steps, step_size=args.step_size, eps=args.eps,
                       layer=args.layer, start=args.start, seed=args.seed, resume=args.resume, force=args.force,
                       attack=args.attack, norm=args.norm, target_mode=args.target_mode, quantize=args.quantize,
                       split=args.split)
    summary = {k: result[k] for k in ("kind", "count", "complete", "model_fingerprint", "params", "seed")}
    summary["shards"] = len(result["shards"])
    summary["crafted_now"] = len(result["crafted_now"])
    summary["recrafted_damaged"] = result["recrafted"]
    if result["kind"] == "adversarial":
        summary.update(adversarial_summary(args.out))
    if is_main_process():  # under torchrun every process ran the job; one prints
        print(json.dumps(summary, indent=2))
