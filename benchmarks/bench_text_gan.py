"""Text-to-image GAN-CLS (Reed et al. 2016) against a naive text-conditional GAN on captioned Fashion-MNIST.

Both runs share the generator and discriminator architecture, the frozen caption encoder, the seed,
the batch order and the number of steps; they differ only in the text mode: ``cls-int``
(matching-aware discriminator + interpolated captions, β = 0.5) vs ``naive`` (no mismatched term,
no interpolation). Scored on the captions of held-out test images (``--per-class`` of each class):
one sample per caption, classified by the shipped classifier — the share read as the caption's class;
the share of samples whose measured brightness / width / texture bucket is the caption's; and
brightness of "a bright <class>" vs "a dark <class>" samples (and width of "wide" vs "narrow").
Saves a GAN-INT interpolation grid and a caption → samples grid under ``--images``.

Checkpoints are cached under ``--cache`` (default ``runs/bench-text-gan``): a rerun resumes them.

    OMP_NUM_THREADS=1 python benchmarks/bench_text_gan.py --write
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Dict, List

import torch
from torch import Tensor

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import write_section  # noqa: E402

from robustgan.data import load_dataset  # noqa: E402
from robustgan.gan import GANConfig  # noqa: E402
from robustgan.gan.grid import save_pixel_grid  # noqa: E402
from robustgan.gan.text import (CLASS_NAMES, TextSettings, attribute_buckets, caption_images,  # noqa: E402
                                caption_interpolation, measure, sample_captions, train_text_gan)
from robustgan.gan.text.captions import ATTRIBUTES, compose  # noqa: E402
from robustgan.models.checkpoint import load_classifier  # noqa: E402
from robustgan.models.default import default_checkpoint_path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
METHODS = {"GAN-INT-CLS (matching-aware + interpolation)": "cls-int",
           "naive text-conditional GAN": "naive"}
INTERPOLATION = (0, 1)  # GAN-INT between the typical captions of these classes: t-shirt → trouser
EXTRA_CAPTIONS = ["a dark, wide ankle boot", "a dark, narrow dress", "a dark, narrow, textured trouser",
                  "a bright, wide bag"]


def command_line() -> str:
    env = f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']} " if os.environ.get("OMP_NUM_THREADS") else ""
    return env + "python benchmarks/bench_text_gan.py " + " ".join(sys.argv[1:])


def machine() -> str:
    return (f"Machine: {platform.machine()}, {os.cpu_count()} CPUs shared with other jobs, torch {torch.__version__} "
            f"(CPU, {torch.get_num_threads()} thread), Python {platform.python_version()}.")


def data(split: str, n: int = None):
    ds, _ = load_dataset("fashion-mnist", split, None)
    x, y = ds.tensors
    return (x[:n] if n else x).float(), (y[:n] if n else y).long()


def typical_captions(x: Tensor, y: Tensor) -> List[str]:
    """The most frequent training caption of each class (the plain "a trouser" is rare: trousers are narrow)."""
    from collections import Counter

    captions = caption_images(x, y)
    return [Counter(c for c, label in zip(captions, y.tolist()) if label == k).most_common(1)[0][0]
            for k in range(len(CLASS_NAMES))]


def spread(images: Tensor) -> float:
    """Mean per-pixel standard deviation over a set of images: 0 when they are all the same image."""
    return float(images.std(0).mean())


def test_captions(per_class: int, seed: int) -> tuple:
    """``per_class`` test images of each class in a seeded order: (captions, labels, buckets)."""
    x, y = data("test")
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    pick = torch.cat([order[y[order] == c][:per_class] for c in range(len(CLASS_NAMES))])
    return caption_images(x[pick], y[pick]), y[pick], attribute_buckets(x[pick])


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.cache = Path(args.cache)
        self.classifier = load_classifier(default_checkpoint_path())
        self.seconds: Dict[str, float] = {}
        self.spent: Dict[str, float] = {}

    def train(self, mode: str, x: Tensor, y: Tensor):
        a = self.args
        name = f"{mode}-w{a.width}-s{a.seed}"
        out = self.cache / name
        resume = (out / "checkpoint.pt").exists()
        cfg = GANConfig(latent_dim=a.latent_dim, width=a.width, batch_size=a.batch_size, seed=a.seed)
        t0 = time.process_time()
        run = train_text_gan(x, y, cfg, TextSettings(mode=mode), steps=a.steps, out_dir=out, resume=resume,
                             progress=False, sample_every=10 ** 9, checkpoint_every=500,
                             identity={"dataset": "fashion-mnist", "split": "train", "num_train": int(x.shape[0])})
        spent = time.process_time() - t0
        meta = out / "train_seconds.json"
        done = json.loads(meta.read_text()) if meta.exists() else {"cpu_seconds": 0.0}
        done["cpu_seconds"] = round(done["cpu_seconds"] + spent, 1)
        meta.write_text(json.dumps(done))
        self.seconds[mode] = done["cpu_seconds"]
        self.spent[mode] = spent
        print(f"[train] {name}: {a.steps} steps ({'resumed' if resume else 'new'}, {spent:.0f} s now)", flush=True)
        return run

    def classify(self, images: Tensor) -> Tensor:
        with torch.no_grad():
            return torch.cat([self.classifier(b).argmax(1) for b in images.split(500)])

    def score(self, run, captions: List[str], labels: Tensor, buckets: Tensor) -> Dict[str, float]:
        g, enc = run.sampler, run.encoder
        images = torch.cat([sample_captions(g, enc, captions[i:i + 250], per_caption=1, seed=self.args.seed + i)
                            for i in range(0, len(captions), 250)])
        pred = self.classify(images)
        out = {"class_acc": float((pred == labels).float().mean()),
               "per_class": [float((pred[labels == c] == c).float().mean()) for c in range(len(CLASS_NAMES))]}
        got = attribute_buckets(images)
        for i, attr in enumerate(ATTRIBUTES):
            out[f"{attr}_agree"] = float((got[:, i] == buckets[:, i]).float().mean())
        out.update(self.attribute_contrast(g, enc))
        return out

    def attribute_contrast(self, g, enc) -> Dict[str, float]:
        """Mean measured brightness of "a bright C" minus "a dark C" samples (and wide − narrow width),
        and the share of the 10 classes where the sign is right."""
        n = self.args.attr_samples
        out: Dict[str, float] = {}
        for attr, (low, high) in (("brightness", ("dark", "bright")), ("width", ("narrow", "wide"))):
            diffs = []
            for c in CLASS_NAMES:
                hi = getattr(measure(sample_captions(g, enc, [f"a {high} {c}"], n, seed=1)), attr).mean()
                lo = getattr(measure(sample_captions(g, enc, [f"a {low} {c}"], n, seed=1)), attr).mean()
                diffs.append(float(hi - lo))
            out[f"{attr}_diff"] = sum(diffs) / len(diffs)
            out[f"{attr}_right"] = sum(d > 0 for d in diffs) / len(diffs)
        return out

    def diversity(self, run, typical: List[str], real: Dict[str, Tensor]) -> float:
        """Spread of 50 samples of each typical caption over the spread of the real test images with that
        caption, averaged over the classes (1 = as varied as the real garments of that description)."""
        ratios = [spread(sample_captions(run.sampler, run.encoder, [c], 50, seed=2)) / spread(real[c])
                  for c in typical if real[c].shape[0] > 1]
        return sum(ratios) / len(ratios)

    def images(self, run, typical: List[str]) -> None:
        folder = Path(self.args.images)
        g, enc = run.sampler, run.encoder
        a, b = (typical[k] for k in INTERPOLATION)
        save_pixel_grid(caption_interpolation(g, enc, a, b, points=8, rows=4, seed=self.args.seed),
                        folder / "text-gan-interpolation.png", nrow=8, scale=2)
        save_pixel_grid(sample_captions(g, enc, typical + EXTRA_CAPTIONS, per_caption=8, seed=self.args.seed),
                        folder / "text-gan-samples.png", nrow=8, scale=2)


def row(name: str, r: dict, seconds: str) -> str:
    spread_ratio = f"{r['diversity']:.2f}" if "diversity" in r else "—"
    return (f"| {name} | {100 * r['class_acc']:.1f}% | {spread_ratio} | {100 * r['brightness_agree']:.1f}% | "
            f"{100 * r['width_agree']:.1f}% | {100 * r['texture_agree']:.1f}% | "
            f"{r['brightness_diff']:+.3f} ({10 * r['brightness_right']:.0f}/10) | "
            f"{r['width_diff']:+.3f} ({10 * r['width_right']:.0f}/10) | {seconds} |")


def table(args, results: Dict[str, dict], seconds: Dict[str, float]) -> List[str]:
    lines = ["| method | class acc. | spread (1 = real) | brightness agree | width agree | texture agree | "
             "bright − dark | wide − narrow | train CPU s |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [row(f"{name}, {args.steps} steps", results[mode], f"{seconds.get(mode, 0):.0f}")
              for name, mode in METHODS.items()]
    for steps, earlier in sorted(earlier_results(args).items()):
        lines += [row(f"{name}, the same run at {steps} steps", earlier[mode], "") for name, mode in METHODS.items()]
    return lines


def report(args, results: Dict[str, dict], seconds: Dict[str, float], real_acc: float, n_train: int,
           typical: List[str]) -> str:
    cls, naive = results["cls-int"], results["naive"]
    per = " · ".join(f"{c} {100 * a:.0f}/{100 * b:.0f}" for c, a, b in
                     zip(CLASS_NAMES, cls["per_class"], naive["per_class"]))
    return "\n".join([
        "## Text-to-image: GAN-CLS (matching-aware D + GAN-INT) vs a naive text-conditional GAN", "",
        f"Command: `{command_line()}`.", "", machine(), "",
        f"Training: {n_train} Fashion-MNIST training images, each captioned from its class and its measured "
        "brightness / width / texture buckets (`robustgan.gan.text.captions`; e.g. \"a dark, narrow ankle boot\"); "
        f"text-conditional DCGAN G and matching-aware D of width {args.width}, latent {args.latent_dim}, batch "
        f"{args.batch_size}, Adam 2e-4 (0.5, 0.999), {args.steps} steps each, seed {args.seed}; the same frozen "
        "bag-of-words caption encoder (pretrained to read class and buckets from the 270 grammar captions), "
        "initial weights and batch order for both. GAN-INT-CLS: D loss softplus(−s_real) + ½[softplus(s_mismatched) "
        "+ softplus(s_fake)], G also on β = 0.5 interpolations of caption pairs; naive: no mismatched term, no "
        "interpolation.", "",
        f"Scored on the captions of {args.per_class} held-out test images per class (one sample each, "
        f"{args.per_class * len(CLASS_NAMES)} in all): class accuracy = share the shipped classifier reads as the "
        f"caption's class (it reads the real test images right {100 * real_acc:.1f}% of the time); attribute "
        "agreement = share whose measured bucket is the caption's (chance ≈ ⅓); bright − dark: mean measured "
        f"brightness of {args.attr_samples} samples of \"a bright C\" minus \"a dark C\", averaged over the 10 "
        "classes (in brackets: classes with the right sign); wide − narrow likewise for width. Spread: mean "
        "per-pixel standard deviation of 50 samples of each class's most frequent caption over that of the real "
        "test images with that caption, averaged over the classes (near 0: the latent is ignored, one image per "
        "caption). Train CPU s: "
        "process CPU seconds of training, summed over the invocations that trained the cached run (a run "
        "resumed to more steps continues bit for bit; the rows at fewer steps are the same runs scored then).", "",
        *table(args, results, seconds), "",
        f"Per class (GAN-INT-CLS / naive, %): {per}.", "",
        f"Targets: GAN-INT-CLS class accuracy ≥ 80%: {100 * cls['class_acc']:.1f}% — "
        f"{'met' if cls['class_acc'] >= 0.8 else 'NOT met'}; above the naive GAN's: "
        f"{100 * cls['class_acc']:.1f}% vs {100 * naive['class_acc']:.1f}% — "
        f"{'yes' if cls['class_acc'] > naive['class_acc'] else 'NO'}; \"bright\" brighter than \"dark\" "
        f"(GAN-INT-CLS): {'yes' if cls['brightness_diff'] > 0 else 'NO'}.", "",
        f"Images (GAN-INT-CLS): `docs/images/text-gan-interpolation.png` — each row one latent, the caption "
        f"embedding moving from \"{typical[INTERPOLATION[0]]}\" (left) to \"{typical[INTERPOLATION[1]]}\" (right); "
        "`docs/images/text-gan-samples.png` — one row per caption, the same 8 latents in every row: "
        + "; ".join(f"\"{c}\"" for c in typical + EXTRA_CAPTIONS) + ".",
    ])


def results_file(args: argparse.Namespace, steps: int) -> Path:
    return Path(args.cache) / f"results-w{args.width}-s{args.seed}-steps{steps}.json"


def earlier_results(args: argparse.Namespace) -> Dict[int, dict]:
    """Scores of the same cached runs at fewer steps (a run resumed to more steps passes through them)."""
    found = {}
    for path in Path(args.cache).glob(f"results-w{args.width}-s{args.seed}-steps*.json"):
        steps = int(path.stem.rsplit("steps", 1)[1])
        if steps < args.steps:
            found[steps] = json.loads(path.read_text())
    return found


def record_invocation(args: argparse.Namespace, wall: float, trained: float) -> List[dict]:
    """Append this invocation's wall time to the cache's log of them (the whole budget of the cached runs)."""
    path = Path(args.cache) / f"invocations-w{args.width}-s{args.seed}.json"
    log = json.loads(path.read_text()) if path.exists() else []
    log.append({"steps": args.steps, "wall_s": round(wall, 1), "train_cpu_s": round(trained, 1)})
    path.write_text(json.dumps(log, indent=1))
    return log


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--latent-dim", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--n", type=int, default=None, help="training images (default: all 60,000)")
    ap.add_argument("--per-class", type=int, default=100, help="test captions per class")
    ap.add_argument("--attr-samples", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache", default=str(ROOT / "runs" / "bench-text-gan"))
    ap.add_argument("--images", default=str(ROOT / "docs" / "images"))
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    bench = Bench(args)
    x, y = data("train", args.n)
    captions, labels, buckets = test_captions(args.per_class, args.seed)
    real_x, real_y = data("test")
    typical = typical_captions(x, y)
    test_caps = caption_images(real_x, real_y)
    real_of = {c: real_x[[i for i, t in enumerate(test_caps) if t == c]] for c in typical}
    real_acc = float((bench.classify(real_x) == real_y).float().mean())
    results = {}
    for mode in METHODS.values():
        run = bench.train(mode, x, y)
        results[mode] = bench.score(run, captions, labels, buckets)
        results[mode]["diversity"] = bench.diversity(run, typical, real_of)
        print(f"[score] {mode}: {json.dumps(results[mode])}", flush=True)
        if mode == "cls-int":
            bench.images(run, typical)
    text = report(args, results, bench.seconds, real_acc, int(x.shape[0]), typical)
    bench.cache.mkdir(parents=True, exist_ok=True)
    results_file(args, args.steps).write_text(json.dumps(results, indent=1))
    print(text + f"\n\n[{time.perf_counter() - t0:.0f} s wall]", flush=True)
    wall = time.perf_counter() - t0
    log = record_invocation(args, wall, sum(bench.spent.values()))
    if args.write:
        write_section("text-gan", text + "\n\nWall time of each invocation that built these runs (steps reached: "
                      "wall s, CPU s of training): " + "; ".join(
                          f"{r['steps']}: {r['wall_s']:.0f} s, {r['train_cpu_s']:.0f} s" for r in log) + ".")


if __name__ == "__main__":
    main()
