"""The standard attack suite against torchattacks' AutoAttack (standard version), same model and points.

torchattacks' ``AutoAttack(version='standard')`` runs APGD-CE, APGD-T, FAB-T (10 iterations each,
its defaults) and Square (5,000 queries), each on the points the earlier ones left unbroken. The
robustgan suite runs the same line-up at the same budgets (``--steps``, ``--queries``), and once
more at the AutoAttack paper's 100 iterations. Each method runs once (the Square phase dominates and
is long); the table gives wall time, the process's CPU time (steadier than wall time on a shared
machine; run single-threaded so the two agree on an idle one) and robust accuracy re-checked by a
forward pass.

    python benchmarks/bench_autoattack.py --checkpoint runs/pgd-at-eps0.1/model.pt --write
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import torch

from results import write_section
from robustgan.data import load_dataset, take
from robustgan.evaluate.suite import SuiteSettings, run_suite
from robustgan.models import load_model, model_fingerprint


@torch.no_grad()
def accuracy(model, x, y) -> float:
    return float(torch.cat([model(x[i:i + 500]).argmax(1) == y[i:i + 500] for i in range(0, len(x), 500)])
                 .float().mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", type=Path, required=True, help="an adversarially trained classifier")
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--steps", type=int, default=10, help="APGD/FAB iterations (torchattacks' default: 10)")
    ap.add_argument("--queries", type=int, default=5000)
    ap.add_argument("--paper-steps", type=int, default=100, help="also run robustgan at this many iterations (0: skip)")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()

    import torchattacks

    model = load_model(args.checkpoint).eval()
    x, y = take(load_dataset("fashion-mnist", "test")[0], args.n)
    clean = accuracy(model, x, y)
    rows = []

    t0, c0 = time.perf_counter(), time.process_time()
    aa = torchattacks.AutoAttack(model, norm="Linf", eps=args.eps, version="standard", n_classes=10, seed=0)
    x_ta = aa(x, y).detach()
    t_ta, c_ta = time.perf_counter() - t0, time.process_time() - c0
    acc_ta = accuracy(model, x_ta, y)
    rows.append((f"torchattacks {torchattacks.__version__} AutoAttack standard", t_ta, c_ta, acc_ta,
                 float((x_ta - x).abs().amax())))

    budgets = [args.steps] + ([args.paper_steps] if args.paper_steps and args.paper_steps != args.steps else [])
    results = {}
    for steps in budgets:
        t0, c0 = time.perf_counter(), time.process_time()
        res = run_suite(model, x, y, args.eps, "linf", "standard", SuiteSettings(steps=steps, queries=args.queries))
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        acc = accuracy(model, res.x_adv, y)
        if abs(acc - res.robust_accuracy) > 1e-9:
            print(f"note: suite verdict {res.robust_accuracy:.4f} vs forward-pass recheck {acc:.4f}")
        results[steps] = (seconds, cpu, acc, res.rows)
        rows.append((f"robustgan standard suite, {steps} iterations", seconds, cpu, acc,
                     float((res.x_adv - x).abs().amax())))

    header = ("| method | wall (s) | × torchattacks | CPU (s) | × torchattacks | robust acc. (%) | max ‖δ‖∞ |\n"
              "|---|---:|---:|---:|---:|---:|---:|")
    table = "\n".join([header] + [f"| {n} | {s:.1f} | {s / t_ta:.2f} | {c:.1f} | {c / c_ta:.2f} | {100 * a:.2f} | {d:.4f} |"
                                  for n, s, c, a, d in rows])
    per_attack = "\n".join(
        f"- robustgan, {steps} iterations: " + ", ".join(
            f"{r['attack']} broke {r['broken']} of {r['attacked']} in {r['seconds']:.1f} s" for r in res_rows)
        for steps, (_, _, _, res_rows) in results.items())
    s_same, c_same, a_same, _ = results[args.steps]
    gap = 100 * (a_same - acc_ta)
    verdict = (f"- same budget: robust accuracy {gap:+.2f} points vs torchattacks (target ≤ +0.5) — "
               f"{'met' if gap <= 0.5 else 'NOT met'}; CPU time {c_same / c_ta:.2f}× (target ≤ 1.00) — "
               f"{'met' if c_same <= c_ta else 'NOT met'} (wall time {s_same / t_ta:.2f}×)")
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
               f"{torch.get_num_threads()} threads, Python {platform.python_version()}")
    setup = (f"model `{args.checkpoint.name}` (weights {model_fingerprint(model)}), first {args.n} Fashion-MNIST "
             f"test images, clean accuracy {100 * clean:.2f}%, L∞ ε = {args.eps:g}, Square {args.queries} queries.")
    flags = "".join(f" --{k.replace('_', '-')} {v}" for k, v in vars(args).items()
                    if k != "write" and v != ap.get_default(k))
    text = (f"## Standard attack suite vs torchattacks AutoAttack\n\nCommand: "
            f"`python benchmarks/bench_autoattack.py{flags}`\n\nMachine: {machine}.\n\n{setup}\n\n{table}\n\n"
            f"{per_attack}\n\nTargets:\n\n{verdict}\n")
    print(text)
    if args.write:
        print(f"wrote {write_section('autoattack', text)}")


if __name__ == "__main__":
    main()
