"""Batched GAN inversion: restarts × generators × images in one run, against one image under one generator at a time.

What it measures. K generators of the same DCGAN architecture, M Fashion-MNIST test images, R
random restarts and S Adam steps (lr 0.2) on z, minimising ‖G(z) − x‖²/P; the best restart per
(generator, image) is kept. Three ways to do exactly that work:

* ``batched``: one call ``robustgan.gan.inversion.invert(generators, images, restarts=R)`` —
  R·K·M rows of one optimisation;
* ``per (image, generator)``: a loop of K·M calls ``invert(generators[k], images[m:m+1], restarts=R)``
  (restarts still batched inside each call: the library's own per-image path);
* ``plain PyTorch loop``: what a user writes by hand — for every generator, image and restart a
  latent ``z`` with ``torch.optim.Adam([z], lr)`` and S steps, keeping the best residual.

Wall time and process CPU time of each (best of ``--repeats``, methods interleaved so background
load hits them alike), the speed-up of ``batched`` over the other two, and the median best residual
of each so that equal work is visible (the three draw different random starts, so residuals agree
in distribution, not bit for bit). With ``--generator`` (repeatable) trained checkpoints are used;
otherwise K freshly initialised generators (timing does not depend on the weights).

    OMP_NUM_THREADS=1 python benchmarks/bench_inversion.py [--generator CKPT ...] [--images 16]
        [--restarts 4] [--steps 100] [--repeats 2] [--device cuda] [--out DIR] [--write]

With ``--device cuda`` the generators and images live on the GPU (timings synchronise it) and
``--write`` records a section whose key ends in ``-cuda``, leaving the CPU figures alone; ``--out
DIR`` also writes the section to ``DIR/<key>.md``.

The target (≥ 10×) is judged against both baselines; on a CPU the batched run is bound by the
generators' convolutions, so the per-(image, generator) ratio is what an accelerator is for.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import torch
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import write_section  # noqa: E402

from robustgan.data import load_dataset, take  # noqa: E402
from robustgan.gan import DCGANGenerator, load_generator  # noqa: E402
from robustgan.gan.inversion import invert  # noqa: E402
from robustgan.optim import frozen  # noqa: E402

KEY = "bench-inversion"
LR = 0.2


def batched(gens: List[nn.Module], x: Tensor, restarts: int, steps: int) -> Tensor:
    return invert(gens, x, restarts=restarts, steps=steps, lr=LR, seed=0).residuals


def per_image(gens: List[nn.Module], x: Tensor, restarts: int, steps: int) -> Tensor:
    out = torch.empty(len(gens), x.shape[0])
    for k, g in enumerate(gens):
        for m in range(x.shape[0]):
            out[k, m] = invert(g, x[m:m + 1], restarts=restarts, steps=steps, lr=LR, seed=m).residuals[0, 0]
    return out


def plain_loop(gens: List[nn.Module], x: Tensor, restarts: int, steps: int) -> Tensor:
    out = torch.full((len(gens), x.shape[0]), float("inf"))
    gen = torch.Generator().manual_seed(0)
    with frozen(gens):
        for k, g in enumerate(gens):
            for m in range(x.shape[0]):
                target = x[m:m + 1]
                for _ in range(restarts):
                    z = torch.randn(1, g.latent_dim, generator=gen).to(x.device).requires_grad_(True)
                    opt = torch.optim.Adam([z], lr=LR)
                    best = float("inf")
                    for _ in range(steps):
                        loss = (g(z) - target).pow(2).mean()
                        best = min(best, float(loss.detach()))
                        opt.zero_grad()
                        loss.backward()
                        opt.step()
                    with torch.no_grad():
                        best = min(best, float((g(z) - target).pow(2).mean()))
                    out[k, m] = min(float(out[k, m]), best)
    return out


def timed(fn: Callable[[], Tensor], device: torch.device) -> Tuple[float, float, Tensor]:
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    t0, c0 = time.perf_counter(), time.process_time()
    res = fn()
    sync()
    return time.perf_counter() - t0, time.process_time() - c0, res.cpu()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generator", dest="generators", type=Path, action="append", default=None)
    ap.add_argument("--num-generators", type=int, default=3, help="untrained generators when no --generator")
    ap.add_argument("--width", type=int, default=32, help="untrained generators: DCGAN width")
    ap.add_argument("--latent-dim", type=int, default=64, help="untrained generators: latent size")
    ap.add_argument("--images", type=int, default=16)
    ap.add_argument("--restarts", type=int, default=4)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    ap.add_argument("--out", default=None, help="also write the section to DIR/<key>.md")
    ap.add_argument("--write", action="store_true", help="record the table in benchmarks/RESULTS.md")
    args = ap.parse_args()
    device = torch.device(args.device)
    if args.generators:
        gens = [load_generator(p) for p in args.generators]
        what = ", ".join(str(p) for p in args.generators)
    else:
        gens = []
        for s in range(args.num_generators):
            torch.manual_seed(s)
            gens.append(DCGANGenerator(latent_dim=args.latent_dim, width=args.width).eval())
        what = (f"{args.num_generators} freshly initialised DCGANGenerator(latent_dim={args.latent_dim}, "
                f"width={args.width})")
    ds, _ = load_dataset("fashion-mnist", "test")
    gens = [g.to(device) for g in gens]
    x = take(ds, args.images)[0].to(device)
    k, m, r, s = len(gens), x.shape[0], args.restarts, args.steps
    methods: Dict[str, Callable[[], Tensor]] = {
        "batched `invert` (one run)": lambda: batched(gens, x, r, s),
        "`invert` per (image, generator)": lambda: per_image(gens, x, r, s),
        "plain PyTorch loop (per image, generator, restart)": lambda: plain_loop(gens, x, r, s),
    }
    batched(gens, x[:2], 1, 2)  # warm-up
    best: Dict[str, List[float]] = {name: [float("inf"), float("inf"), 0.0] for name in methods}
    for rep in range(args.repeats):
        for name, fn in methods.items():
            wall, cpu, res = timed(fn, device)
            b = best[name]
            b[0], b[1], b[2] = min(b[0], wall), min(b[1], cpu), float(res.median())
            print(f"repeat {rep + 1}: {name}: {wall:.2f} s wall, {cpu:.2f} s CPU, median residual {b[2]:.5f}", flush=True)
    ref_wall, ref_cpu = best["batched `invert` (one run)"][:2]
    rows = [f"| {name} | {w:.2f} | {c:.2f} | {w / ref_wall:.1f}× | {c / ref_cpu:.1f}× | {res:.5f} |"
            for name, (w, c, res) in best.items()]
    per, plain = best["`invert` per (image, generator)"], best["plain PyTorch loop (per image, generator, restart)"]
    ratios = {"per": (per[0] / ref_wall, per[1] / ref_cpu), "plain": (plain[0] / ref_wall, plain[1] / ref_cpu)}
    verdict = {key: "met" if min(v) >= 10 else "NOT met" for key, v in ratios.items()}
    threads = os.environ.get("OMP_NUM_THREADS")
    cmd = ((f"OMP_NUM_THREADS={threads} " if threads else "") + "python benchmarks/bench_inversion.py"
           + ("".join(f" --generator {p}" for p in args.generators) if args.generators
              else f" --num-generators {args.num_generators} --width {args.width} --latent-dim {args.latent_dim}")
           + f" --images {m} --restarts {r} --steps {s} --repeats {args.repeats}"
           + (f" --device {args.device}" if device.type != "cpu" else "") + (" --write" if args.write else ""))
    where = (torch.cuda.get_device_name(device) if device.type == "cuda"
             else f"CPU, {torch.get_num_threads()} thread(s)")
    text = "\n".join([
        f"### GAN inversion: batched restarts × generators × images ({'trained' if args.generators else 'untrained'} "
        f"DCGAN, width {gens[0].width}, latent {gens[0].latent_dim})"
        + ("" if device.type == "cpu" else f" on {torch.cuda.get_device_name(device)}"), "",
        f"Command: `{cmd}`.", "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__} ({where}), "
        f"Python {platform.python_version()}. The machine is shared with "
        "other jobs, so compare the CPU-time column too.", "",
        f"Generators: {what}. K = {k} generators × M = {m} Fashion-MNIST test images × R = {r} restarts, "
        f"S = {s} Adam steps (lr {LR}) on z each; best of {args.repeats}, methods interleaved. The batched run "
        f"has {k * m * r} rows.", "",
        "| method | wall time (s) | CPU time (s) | slower than batched (wall) | (CPU) | median best residual |",
        "|---|---:|---:|---:|---:|---:|", *rows, "",
        "Target: batched ≥ 10× faster than one image under one generator at a time. Against the plain loop (one "
        f"image, one generator, one restart at a time): {ratios['plain'][0]:.1f}× wall, {ratios['plain'][1]:.1f}× CPU "
        f"— {verdict['plain']}. Against `invert` per (image, generator), restarts still batched: "
        f"{ratios['per'][0]:.1f}× wall, {ratios['per'][1]:.1f}× CPU — {verdict['per']}.",
    ])
    print(text)
    suffix = "trained" if args.generators else f"w{args.width}-z{args.latent_dim}"
    key = f"{KEY}-{suffix}" + ("" if device.type == "cpu" else f"-{device.type}")
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        Path(args.out, f"{key}.md").write_text(text + "\n")
    if args.write:
        write_section(key, text)


if __name__ == "__main__":
    main()
