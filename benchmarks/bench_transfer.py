"""Transfer between differently shaped models, and what 8-bit storage costs an attack.

Part 1: three Fashion-MNIST classifiers trained here with ``robustgan train`` (3 epochs, seed 1):
the small CNN, the small ResNet and an MLP. Each transfer attack crafts, on each source, L∞ ε = 0.1
examples from the first ``--n`` test images, 10 steps of 0.01, and every model judges them; a cell
is the share fooled among the points source and target both classify correctly. robustgan's
MI/DI/TI/VMI-FGSM against torchattacks' MIFGSM/DIFGSM/TIFGSM/VMIFGSM at the same settings (MI and
VMI: decay 1; DI and TI: decay 0, resize 0.9, diversity probability 0.5; TI: 15×15 Gaussian,
nsig 3 — torchattacks' TI kernel is hard-wired to 3 channels, so it attacks the grey models through
a channel-averaging wrapper, which gives the grey model's exact outputs; VMI: 5 neighbours,
β = 1.5). Both libraries draw their randomness from the same global seed; the summary is the mean
of the six off-diagonal cells. Time: crafting on all three sources, one run each, interleaved.

Part 2: on the shipped CNN, the first ``--n`` test images, the white-box success of examples as
crafted (float32), after rounding to 8 bits as a PNG stores them, and when crafted
quantisation-aware (``craft adversarial --quantize``: rounded into the ball, then up to 20 sign steps of
one grey level on the grid for the examples rounding broke). "Out of the ball" counts the examples
plain rounding pushed beyond ε.

    python benchmarks/bench_transfer.py [--n 1000] [--models DIR] [--write]
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict

import torch
from torch import nn

import attacks
from results import write_section
from robustgan.data import load_dataset, take
from robustgan.data.formats import quantize
from robustgan.features.quantize import distortion, quantization_aware
from robustgan.models import load_classifier, model_fingerprint
from robustgan.models.default import default_checkpoint_path
from robustgan.transfer import transfer_matrix

ARCHS = ("small-cnn", "small-resnet", "mlp")
EPS, STEPS, ALPHA = 0.1, 10, 0.01


class ThreeChannels(nn.Module):
    """The grey model behind an RGB door: channels averaged (three equal channels: exact outputs)."""

    def __init__(self, grey: nn.Module):
        super().__init__()
        self.grey = grey

    def forward(self, x):
        return self.grey(x.mean(dim=1, keepdim=True))


def trained_models(folder: Path) -> Dict[str, nn.Module]:
    folder.mkdir(parents=True, exist_ok=True)
    models = {}
    for arch in ARCHS:
        path = folder / f"{arch}.pt"
        if not path.exists():
            subprocess.run([sys.executable, "-m", "robustgan.cli", "train", "--arch", arch, "--epochs", "3",
                            "--seed", "1", "--device", "cpu", "--out", str(path), "--quiet"], check=True)
        models[arch] = load_classifier(path)
    return models


def ours(name: str) -> Callable:
    common = dict(steps=STEPS, step_size=ALPHA)
    fn = {"MI-FGSM": lambda m, x, y: attacks.mifgsm(m, x, y, EPS, decay=1.0, **common),
          "DI-FGSM": lambda m, x, y: attacks.difgsm(m, x, y, EPS, decay=0.0, **common),
          "TI-FGSM": lambda m, x, y: attacks.tifgsm(m, x, y, EPS, decay=0.0, **common),
          "VMI-FGSM": lambda m, x, y: attacks.vmifgsm(m, x, y, EPS, decay=1.0, **common)}[name]
    return fn


def theirs(name: str) -> Callable:
    import torchattacks as ta
    from types import SimpleNamespace

    common = dict(eps=EPS, alpha=ALPHA, steps=STEPS)

    def run(m, x, y):
        if name == "MI-FGSM":
            out = ta.MIFGSM(m, decay=1.0, **common)(x, y)
        elif name == "DI-FGSM":
            out = ta.DIFGSM(m, decay=0.0, **common)(x, y)
        elif name == "TI-FGSM":
            out = ta.TIFGSM(ThreeChannels(m), decay=0.0, **common)(x.repeat(1, 3, 1, 1), y)[:, :1]
        else:
            out = ta.VMIFGSM(m, decay=1.0, **common)(x, y)
        return SimpleNamespace(x=out)
    return run


def off_diagonal(result) -> float:
    cells = [r for i, row in enumerate(result.rate) for j, r in enumerate(row) if result.sources[i] != result.targets[j]]
    return sum(cells) / len(cells)


def part_one(models, x, y) -> list:
    lines = ["| attack | library | " + " | ".join(f"{s}→{t}" for s in ARCHS for t in ARCHS if s != t) +
             " | off-diagonal mean | white-box mean | craft time (s) |",
             "|---|---|" + "---:|" * 9]
    summary = []
    for name in ("MI-FGSM", "DI-FGSM", "TI-FGSM", "VMI-FGSM"):
        row = {}
        for lib, make in (("torchattacks", theirs), ("robustgan", ours)):
            torch.manual_seed(0)
            start = time.perf_counter()
            result = transfer_matrix(models, models, x, y, make(name), batch=500)
            row[lib] = (result, time.perf_counter() - start)
        for lib in ("torchattacks", "robustgan"):
            result, seconds = row[lib]
            cells = [f"{100 * result.rate[i][j]:.1f}" for i in range(3) for j in range(3) if i != j]
            white = sum(result.rate[i][i] for i in range(3)) / 3
            lines.append(f"| {name} | {lib} | " + " | ".join(cells) +
                         f" | **{100 * off_diagonal(result):.1f}** | {100 * white:.1f} | {seconds:.1f} |")
        gap = 100 * (off_diagonal(row["robustgan"][0]) - off_diagonal(row["torchattacks"][0]))
        summary.append(f"{name}: {gap:+.1f} points, time {row['robustgan'][1] / row['torchattacks'][1]:.2f}×")
    counted = row["robustgan"][0].counted
    lines += ["", "Cells in %; points counted per cell (clean-correct on both): " +
              ", ".join(f"{s}→{t} {counted[i][j]}" for i, s in enumerate(ARCHS) for j, t in enumerate(ARCHS) if i != j),
              "", "robustgan − torchattacks, off-diagonal mean: " + "; ".join(summary) + "."]
    return lines


def ddn_in_ball(model, x, y, eps: float):
    from types import SimpleNamespace

    from robustgan.optim import Ball, Box

    radius = torch.full((len(y),), eps)
    return SimpleNamespace(x=(Ball(2.0, radius) & Box(0, 1)).project(attacks.ddn(model, x, y, steps=100).x, x, radius))


def part_two(model, x, y) -> list:
    cases = [("PGD-20 L∞", float("inf"), 8 / 255, lambda: attacks.pgd(model, x, y, 8 / 255, steps=20, seed=0)),
             ("PGD-20 L∞", float("inf"), 0.03, lambda: attacks.pgd(model, x, y, 0.03, steps=20, seed=0)),
             ("MI-FGSM-10 L∞", float("inf"), 0.03, lambda: attacks.mifgsm(model, x, y, 0.03, steps=10)),
             ("APGD-50 L2", 2.0, 0.5, lambda: attacks.apgd(model, x, y, 0.5, norm="l2", steps=50, early_stop=True,
                                                                seed=0)),
             ("FMN-100 L∞ (ε: each point's distortion, rounded up to a level)", float("inf"), None,
              lambda: attacks.fmn(model, x, y, norm="linf", steps=100)),
             ("DDN-100 L2 (minimal points beyond ε projected onto the ball, as `craft` does)", 2.0, 1.0,
              lambda: ddn_in_ball(model, x, y, 1.0))]
    lines = ["| attack | ε | as crafted (float) | plain 8-bit rounding | out of the ball after rounding | "
             "quantisation-aware | recovered on the grid |", "|---|---|---:|---:|---:|---:|---:|"]
    for label, p, eps, run in cases:
        res = run()
        with torch.no_grad():
            crafted = (model(res.x).argmax(1) != y).float().mean()
        if eps is None:
            radius = (res.distance * 255).ceil() / 255 if p == float("inf") else res.distance
            shown = "per point"
        else:
            radius, shown = torch.full((len(y),), eps), f"{eps:.4g}"
        plain = quantize(res.x)
        outside = int((distortion(plain - x, p) > radius * (1 + 1e-6) + 1e-6).sum())
        aware, recovered = quantization_aware(model, res.x, x, radius, p, y, False, steps=20)
        with torch.no_grad():
            rounded = (model(plain).argmax(1) != y).float().mean()
            kept = (model(aware).argmax(1) != y).float().mean()
        lines.append(f"| {label} | {shown} | {100 * crafted:.1f}% | {100 * rounded:.1f}% | {outside} | "
                     f"{100 * kept:.1f}% | {recovered} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--models", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "robustgan-transfer-models")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    models = trained_models(args.models)
    x, y = take(load_dataset("fashion-mnist", "test")[0], args.n)
    with torch.no_grad():
        acc = {a: float((m(x).argmax(1) == y).float().mean()) for a, m in models.items()}
    lines = [f"Command: `python benchmarks/bench_transfer.py{'' if args.n == 1000 else f' --n {args.n}'} --write`", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}.", "",
             f"### Transfer matrix, L∞ ε = {EPS}, {STEPS} steps of {ALPHA}, {args.n} test images", "",
             "Models (clean accuracy on these images): " +
             ", ".join(f"{a} {100 * acc[a]:.1f}% ({model_fingerprint(m)})" for a, m in models.items()), ""]
    lines += part_one(models, x, y)
    shipped = load_classifier(default_checkpoint_path())
    lines += ["", f"### 8-bit storage, shipped CNN, {args.n} test images", ""] + part_two(shipped, x, y)
    intro = __doc__.split("\n\n", 1)[1].rsplit("\n\n", 1)[0]
    text = "## Transfer and 8-bit datasets\n\n" + intro + "\n\n" + "\n".join(lines)
    print(text)
    if args.write:
        write_section("transfer", text)


if __name__ == "__main__":
    main()
