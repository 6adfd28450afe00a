"""The standard attack suite against torchattacks' AutoAttack (standard version), same model and points.

torchattacks' ``AutoAttack(version='standard')`` runs APGD-CE, APGD-T, FAB-T (10 iterations each,
its defaults) and Square (5,000 queries), each on the points the earlier ones left unbroken. The
robustgan suite runs the same line-up at the same budgets (``--steps``, ``--queries``), and once
more at the AutoAttack paper's 100 iterations. Each method runs once (the Square phase dominates and
is long); the table gives wall time, the process's CPU time (steadier than wall time on a shared
machine; run single-threaded so the two agree on an idle one) and robust accuracy re-checked by a
forward pass.

With ``--device cuda`` the model, the images and torchattacks run on the GPU (the timings
synchronise the device; CPU time then measures the host side only) and ``--write`` records its own
``autoattack-cuda`` section, leaving the CPU figures alone; ``--out DIR`` also writes the section to
``DIR/<key>.md``.

    python benchmarks/bench_autoattack.py --checkpoint runs/pgd-at-eps0.1/model.pt --write
    python benchmarks/bench_autoattack.py --device cuda --n 200 --paper-steps 0 --out DIR
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


def classifier(checkpoint):
    """The model under test and its name: a checkpoint, or the PGD-AT fine-tune of the shipped CNN."""
    if checkpoint is not None:
        return load_model(checkpoint).eval(), checkpoint.name
    from bench_minimal_norm import robust_model
    from robustgan.models import load_classifier
    from robustgan.models.default import default_checkpoint_path

    return robust_model(load_classifier(default_checkpoint_path())), "PGD-AT fine-tune of the shipped CNN"


def channels_last_twin(model):
    import copy

    return copy.deepcopy(model).to(memory_format=torch.channels_last).eval()


def sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


@torch.no_grad()
def accuracy(model, x, y) -> float:
    return float(torch.cat([model(x[i:i + 500]).argmax(1) == y[i:i + 500] for i in range(0, len(x), 500)])
                 .float().mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", type=Path, default=None,
                    help="an adversarially trained classifier (default: the shipped CNN fine-tuned with PGD-AT, "
                         "as in bench_minimal_norm.py and bench_verdicts.py)")
    ap.add_argument("--peer-channels-last", action="store_true",
                    help="also run torchattacks on a channels-last copy of the model (the layout the suite's "
                         "loop picks on CPU)")
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--steps", type=int, default=10, help="APGD/FAB iterations (torchattacks' default: 10)")
    ap.add_argument("--queries", type=int, default=5000)
    ap.add_argument("--paper-steps", type=int, default=100, help="also run robustgan at this many iterations (0: skip)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda[:N]: model, images and torchattacks on it")
    ap.add_argument("--out", default=None, help="also write the section to DIR/<key>.md")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    device = torch.device(args.device)

    import torchattacks

    model, name = classifier(args.checkpoint)
    model = model.to(device).eval()
    x, y = take(load_dataset("fashion-mnist", "test")[0], args.n)
    x, y = x.to(device), y.to(device)
    clean = accuracy(model, x, y)
    rows = []

    peers = [("", model)] + ([(", channels-last copy of the model", channels_last_twin(model))]
                             if args.peer_channels_last else [])
    for label, net in peers:
        sync(device)
        t0, c0 = time.perf_counter(), time.process_time()
        aa = torchattacks.AutoAttack(net, norm="Linf", eps=args.eps, version="standard", n_classes=10, seed=0)
        x_peer = aa(x, y).detach()
        sync(device)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        if not rows:
            t_ta, c_ta, x_ta = seconds, cpu, x_peer
        rows.append((f"torchattacks {torchattacks.__version__} AutoAttack standard{label}", seconds, cpu,
                     accuracy(model, x_peer, y), float((x_peer - x).abs().amax())))
    acc_ta = rows[0][3]

    budgets = [args.steps] + ([args.paper_steps] if args.paper_steps and args.paper_steps != args.steps else [])
    results = {}
    for steps in budgets:
        sync(device)
        t0, c0 = time.perf_counter(), time.process_time()
        res = run_suite(model, x, y, args.eps, "linf", "standard", SuiteSettings(steps=steps, queries=args.queries))
        sync(device)
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
    verdict = (f"- same budget: robust accuracy {gap:+.2f} points vs torchattacks (target within ±0.5) — "
               f"{'met' if abs(gap) <= 0.5 else 'NOT met'}; CPU time {c_same / c_ta:.2f}× (target ≤ 0.50) — "
               f"{'met' if c_same <= 0.5 * c_ta else 'NOT met'} (wall time {s_same / t_ta:.2f}×)")
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
               f"{torch.get_num_threads()} threads, Python {platform.python_version()}"
               + ("" if device.type == "cpu" else f", {torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})"))
    setup = (f"model `{name}` (weights {model_fingerprint(model)}), first {args.n} Fashion-MNIST "
             f"test images, clean accuracy {100 * clean:.2f}%, L∞ ε = {args.eps:g}, Square {args.queries} queries.")
    flags = "".join(f" --{k.replace('_', '-')} {v}" for k, v in vars(args).items()
                    if k not in ("write", "out") and v != ap.get_default(k))
    heading = "Standard attack suite vs torchattacks AutoAttack" + \
        ("" if device.type == "cpu" else f" ({torch.cuda.get_device_name(device)})")
    text = (f"## {heading}\n\nCommand: "
            f"`python benchmarks/bench_autoattack.py{flags}`\n\nMachine: {machine}.\n\n{setup}\n\n{table}\n\n"
            f"{per_attack}\n\nTargets:\n\n{verdict}\n")
    print(text)
    key = "autoattack" if device.type == "cpu" else f"autoattack-{device.type}"
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        Path(args.out, f"{key}.md").write_text(text)
    if args.write:
        print(f"wrote {write_section(key, text)}")


if __name__ == "__main__":
    main()
