"""Faster robustness verdicts: PGD that retires fooled *and* cycling points, against torchattacks;
and compiled against eager PGD.

Part 1, on an adversarially trained CNN (the shipped CNN fine-tuned with PGD-AT, as in
``bench_minimal_norm.py``), the first ``--n`` test images, PGD-20 L∞ at ε = 0.1 with step
2.5ε/20 and a uniform random start, cross-entropy loss, batches of 500:

* torchattacks ``PGD`` (every point, every step), on the model as given and on a channels-last copy
  of it (the layout of robustgan's ``channels_last=True``, given to the peer too);
* robustgan ``attacks.pgd`` with the full budget (the same work), in the model's own layout (the
  default) and with ``channels_last=True`` (its weights stored channels-last for the run);
* with fooled points retired (``early_stop``);
* with fooled and cycling points retired (``early_stop`` + ``retire_cycles``): what ``robustgan
  evaluate`` runs, in either layout, and under ``--amp bf16`` (the model in bfloat16, the
  iterates in float32).

Robust accuracy is judged on the returned images by one forward pass (not timed); gradient
evaluations are counted per point (robustgan: as measured; torchattacks: steps × points). Times are
the median of ``--repeats`` runs, interleaved across the methods. The random starts differ between
libraries, so robust accuracy is also given for robustgan over 5 seeds.

Part 2, CPU: PGD-20 with the model compiled (``loop_options(compile=True)``: torch.compile,
inductor) against eager, on the default CNN (1,000 images) and a timm ``resnet18`` with random
weights on 32×32 colour noise images (64 images); the compile time (first call) is reported
apart from the steady-state time (median of later calls).

    python benchmarks/bench_verdicts.py [--n 1000] [--repeats 3] [--device cuda] [--out DIR] [--write]
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from typing import Callable, Dict, List

import torch

import attacks
from bench_minimal_norm import robust_model
from results import write_section
from robustgan.data import load_dataset, take
from robustgan.models import load_classifier, model_fingerprint
from robustgan.models.default import default_checkpoint_path
from robustgan.optim import loop_options

EPS, STEPS = 0.1, 20
ALPHA = 2.5 * EPS / STEPS
BATCH = 500
EVALUATE = "robustgan `pgd`, fooled and cycling points retired (evaluate)"


def machine(device) -> str:
    """The hardware the figures come from: the GPU's name, or the CPU's architecture and threads."""
    if torch.device(device).type == "cuda":
        return f"{torch.cuda.get_device_name(torch.device(device))} (CUDA {torch.version.cuda})"
    return f"{platform.machine()}, {os.cpu_count()} CPUs (CPU, {torch.get_num_threads()} threads)"


def batched(fn: Callable, x, y):
    outs, back = [], []
    for i in range(0, len(x), BATCH):
        adv, bw = fn(x[i:i + BATCH], y[i:i + BATCH])
        outs.append(adv)
        back.append(bw)
    return torch.cat(outs), torch.cat(back)


@torch.no_grad()
def robust_accuracy(model, adv, y) -> float:
    return float(torch.cat([model(adv[i:i + BATCH]).argmax(1) for i in range(0, len(adv), BATCH)]).eq(y).float().mean())


def channels_last_twin(model):
    """A channels-last copy of the model, for the peer: the layout of robustgan's ``channels_last=True``."""
    import copy

    return copy.deepcopy(model).to(memory_format=torch.channels_last).eval()


def pgd_methods(model, seed: int) -> Dict[str, Callable]:
    import torchattacks

    def ours(layout=None, amp=None, **kw):
        gen = torch.Generator().manual_seed(seed)

        def run(x, y):
            with loop_options(channels_last=layout, amp=amp):
                r = attacks.pgd(model, x, y, EPS, steps=STEPS, step_size=ALPHA, generator=gen, **kw)
            return r.x, r.backwards
        return run

    def peer(net):
        ta = torchattacks.PGD(net, eps=EPS, alpha=ALPHA, steps=STEPS, random_start=True)
        return lambda x, y: (ta(x, y), torch.full((len(x),), STEPS, device=x.device))

    version = torchattacks.__version__
    return {
        f"torchattacks {version} `PGD`": peer(model),
        f"torchattacks {version} `PGD`, channels-last copy of the model": peer(channels_last_twin(model)),
        "robustgan `pgd`, full budget": ours(early_stop=False),
        "robustgan `pgd`, full budget, `channels_last=True`": ours(layout=True, early_stop=False),
        "robustgan `pgd`, fooled points retired": ours(early_stop=True),
        EVALUATE: ours(early_stop=True, retire_cycles=True),
        "robustgan `pgd`, fooled and cycling points retired, `channels_last=True`": ours(layout=True, early_stop=True,
                                                                                    retire_cycles=True),
        "robustgan `pgd`, fooled and cycling points retired, `--amp bf16`": ours(amp="bf16", early_stop=True,
                                                                               retire_cycles=True),
    }


def part_one(model, x, y, repeats: int) -> List[str]:
    methods = pgd_methods(model, seed=0)
    times: Dict[str, List[float]] = {k: [] for k in methods}
    results = {}
    for r in range(repeats):
        for name, fn in methods.items():
            torch.manual_seed(0)
            t0 = time.perf_counter()
            out = batched(fn, x, y)
            sync(x.device)
            times[name].append(time.perf_counter() - t0)
            results.setdefault(name, out)
    median = {name: sorted(ts)[len(ts) // 2] for name, ts in times.items()}
    ta_name, ta_twin = list(methods)[:2]
    ta_acc = robust_accuracy(model, results[ta_name][0], y)
    lines = ["| method | time (s) | × torchattacks' speed | × torchattacks (channels-last) | gradients / point | "
             "robust acc. (%) | vs torchattacks |", "|---|---:|---:|---:|---:|---:|---|"]
    for name in methods:
        t = median[name]
        adv, bw = results[name]
        acc = robust_accuracy(model, adv, y)
        linf = float((adv - x).abs().flatten(1).amax(1).max())
        note = "" if name == ta_name else f"{100 * (acc - ta_acc):+.2f} points"
        lines.append(f"| {name} | {t:.2f} | {median[ta_name] / t:.2f}× | {median[ta_twin] / t:.2f}× | "
                     f"{float(bw.float().mean()):.2f} | {100 * acc:.2f} | {note}{'; ' if note else ''}max ‖δ‖∞ {linf:.4f} |")
    seeds = []
    for seed in range(5):
        fn = pgd_methods(model, seed)[EVALUATE]
        seeds.append(robust_accuracy(model, batched(fn, x, y)[0], y))
    full = []
    for seed in range(5):
        fn = pgd_methods(model, seed)["robustgan `pgd`, fooled points retired"]
        full.append(robust_accuracy(model, batched(fn, x, y)[0], y))
    lines += ["", "Robust accuracy over seeds 0–4 (random starts): with cycle retirement "
              + ", ".join(f"{100 * a:.2f}" for a in seeds) + "; without "
              + ", ".join(f"{100 * a:.2f}" for a in full) + "."]
    return lines


def long_run(standard, x, y) -> List[str]:
    """Where cycles do close: PGD-100 with step ε/4 at ε = 0.02 on the shipped CNN, robust points
    settle on the faces of the ball. Same seed with and without cycle retirement."""
    with torch.no_grad():
        ok = standard(x).argmax(1) == y
    xs, ys = x[ok], y[ok]
    rows = ["| run | time (s) | gradients / point | robust acc. (%) |", "|---|---:|---:|---:|"]
    for label, retire in (("fooled points retired", False), ("fooled and cycling points retired", True)):
        t0 = time.perf_counter()
        r = attacks.pgd(standard, xs, ys, 0.02, steps=100, step_size=0.005, early_stop=True, seed=0,
                        retire_cycles=retire)
        sync(xs.device)
        t = time.perf_counter() - t0
        rows.append(f"| {label} | {t:.2f} | {float(r.backwards.float().mean()):.2f} | "
                    f"{100 * float((~r.success).float().mean()):.2f} |")
    return [f"PGD-100, step 0.005, ε = 0.02, shipped CNN, its {len(ys)} correctly classified points of the "
            f"{len(y)}:", ""] + rows


def timm_resnet18(device):
    import timm

    return timm.create_model("resnet18", pretrained=False, num_classes=10).to(device).eval()


def sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def part_two(standard, x, repeats: int, device) -> List[str]:
    lines = ["| model | images | eager (s) | compiled, first call (s) | compiled, steady (s) | speed-up | "
             "max |Δx| vs eager | same verdicts |", "|---|---:|---:|---:|---:|---:|---:|---|"]
    torch.manual_seed(0)
    cases = [("default CNN (Fashion-MNIST)", standard, x[:1000]),
             ("timm resnet18, random weights, 32×32×3", timm_resnet18(device), torch.rand(64, 3, 32, 32, device=device))]
    for label, model, xs in cases:
        with torch.no_grad():
            ys = model(xs).argmax(1)

        def run():
            out = attacks.pgd(model, xs, ys, EPS, steps=STEPS, step_size=ALPHA, seed=0)
            sync(device)
            return out

        eager_t, comp_t = [], []
        eager = run()
        with loop_options(compile=True):
            t0 = time.perf_counter()
            fast = run()
            first = time.perf_counter() - t0
        for _ in range(repeats):
            t0 = time.perf_counter()
            run()
            eager_t.append(time.perf_counter() - t0)
            with loop_options(compile=True):
                t0 = time.perf_counter()
                run()
                comp_t.append(time.perf_counter() - t0)
        e, c = sorted(eager_t)[len(eager_t) // 2], sorted(comp_t)[len(comp_t) // 2]
        diff = float((eager.x - fast.x).abs().max())
        same = bool(torch.equal(eager.success, fast.success))
        lines.append(f"| {label} | {len(xs)} | {e:.2f} | {first:.2f} | {c:.2f} | {e / c:.2f}× | {diff:.1e} | {same} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", default=None, help="also write the section to DIR/verdicts.md")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    torch.manual_seed(0)
    standard = load_classifier(default_checkpoint_path())
    robust = robust_model(standard).to(args.device)
    standard = standard.to(args.device)
    x, y = take(load_dataset("fashion-mnist", "test")[0], args.n)
    x, y = x.to(args.device), y.to(args.device)
    with torch.no_grad():
        clean = robust_accuracy(robust, x, y)
    lines = [f"Command: `python benchmarks/bench_verdicts.py{'' if args.n == 1000 else f' --n {args.n}'} --write`", "",
             f"Machine: {machine(args.device)}, torch {torch.__version__}, Python {platform.python_version()}.", "",
             f"### PGD-20 L∞ ε = {EPS}, step {ALPHA:g}, PGD-AT CNN (weights {model_fingerprint(robust)}, clean "
             f"accuracy {100 * clean:.1f}%), {args.n} test images", ""]
    lines += part_one(robust, x, y, args.repeats)
    lines += ["", "### Where cycles close", ""] + long_run(standard, x, y)
    lines += ["", f"### Compiled against eager PGD-20 ({args.device})", ""]
    lines += part_two(standard, x, args.repeats, args.device)
    intro = __doc__.split("\n\n", 1)[1].rsplit("\n\n", 1)[0]
    key = "verdicts" if args.device == "cpu" else f"verdicts-{torch.device(args.device).type}"
    text = "## Faster verdicts: retiring cycling points, compiled steps" + \
        ("" if args.device == "cpu" else f" ({machine(args.device)})") + "\n\n" + intro + "\n\n" + "\n".join(lines)
    print(text)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "verdicts.md"), "w") as f:
            f.write(text + "\n")
    if args.write:
        write_section(key, text)


if __name__ == "__main__":
    main()
