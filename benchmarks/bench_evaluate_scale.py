"""``robustgan evaluate`` on 1 process vs K processes under torchrun (gloo, one thread each), in one run.

The same job (the default one unless flags are passed through after ``--``) runs three times: one
process with one thread, one process with K threads (the usual way to use K cores), and K
processes with one thread each. Reported: wall time per phase from each report's
``phase_seconds``, the attack phases' sum (sweeps and minimal-norm attacks), the speed-up, and
whether the K-process report's numbers equal the one-process report's.

    python benchmarks/bench_evaluate_scale.py --write            # K = 2
    python benchmarks/bench_evaluate_scale.py --nproc 2 -- -n 500 --no-checks
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

import torch

from results import write_section


def run(out: Path, extra: List[str], nproc: int, threads: int) -> Tuple[dict, float]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    job = ["-m", "robustgan.cli", "evaluate", "--device", "cpu", "--quiet", "--out", str(out), *extra]
    cmd = [sys.executable, *job] if nproc == 1 else \
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc), *job]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return json.loads((out / "report.json").read_text()), wall


def numbers(report: dict) -> dict:
    minimal = {n: {a: {k: v for k, v in row.items() if k != "seconds"} for a, row in b["attacks"].items()}
               for n, b in report["minimal"].items()}
    return {"clean": report["clean_accuracy"], "headline": report["headline"], "minimal": minimal,
            "sweeps": [(s["attack"], s["norm"], s["robust_accuracy"]) for s in report["sweeps"]],
            "checks": [(c["name"], c["norm"], c["passed"]) for c in report["checks"]]}


def attack_seconds(report: dict) -> float:
    return sum(s for p, s in report["phase_seconds"].items() if p.startswith(("sweep/", "minimal/")))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nproc", type=int, default=2)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("extra", nargs="*", help="flags for robustgan evaluate (after --)")
    args = ap.parse_args()
    k = args.nproc
    with tempfile.TemporaryDirectory() as tmp:
        runs: Dict[str, Tuple[dict, float]] = {}
        for label, nproc, threads in (("1 process × 1 thread", 1, 1), (f"1 process × {k} threads", 1, k),
                                      (f"{k} processes × 1 thread", k, 1)):
            runs[label] = run(Path(tmp) / f"p{nproc}t{threads}", args.extra, nproc, threads)
            print(f"{label}: {runs[label][1]:.1f} s", flush=True)
    base_label, multi_label = "1 process × 1 thread", f"{k} processes × 1 thread"
    base, multi = runs[base_label][0], runs[multi_label][0]
    same = numbers(base) == numbers(multi)
    phases = list(base["phase_seconds"])
    header = "| phase | " + " | ".join(runs) + f" | speed-up ({k} processes vs 1) |"
    lines = [header, "|---|" + "---:|" * (len(runs) + 1)]
    for p in phases:
        cells = [f"{r['phase_seconds'].get(p, float('nan')):.1f}" for r, _ in runs.values()]
        lines.append(f"| {p} | " + " | ".join(cells) + f" | {base['phase_seconds'][p] / multi['phase_seconds'][p]:.2f}× |")
    att = {label: attack_seconds(r) for label, (r, _) in runs.items()}
    lines.append("| **attack phases (sweeps + minimal-norm)** | " + " | ".join(f"**{v:.1f}**" for v in att.values())
                 + f" | **{att[base_label] / att[multi_label]:.2f}×** |")
    lines.append("| whole command (wall, incl. start-up) | " + " | ".join(f"{w:.1f}" for _, w in runs.values())
                 + f" | {runs[base_label][1] / runs[multi_label][1]:.2f}× |")
    flags = " ".join(args.extra) or "(none: the default job)"
    text = "\n".join([
        f"## `robustgan evaluate` on 1 vs {k} processes", "",
        f"Command: `python benchmarks/bench_evaluate_scale.py --nproc {k}"
        + (f" -- {' '.join(args.extra)}" if args.extra else "") + " --write`", "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, Python "
        f"{platform.python_version()}. Evaluate flags: {flags}; `--device cpu`, gloo.", "",
        "Seconds per phase (wall, from each report's `phase_seconds`):", "", *lines, "",
        f"The {k}-process report's numbers (clean accuracy, every sweep, every minimal-norm row, the verdict, "
        f"the checks) {'equal' if same else 'DIFFER FROM'} the 1-process report's.", "",
        "The same job on K GPUs of one machine, and on N machines of K GPUs each (run the second line on "
        "every machine, with the first machine's address):", "",
        "```bash",
        "torchrun --nproc_per_node K -m robustgan.cli evaluate --device cuda --out runs/eval",
        "torchrun --nnodes N --nproc_per_node K --rdzv-backend c10d --rdzv-endpoint HOST:29500 --rdzv-id eval1 \\",
        "    -m robustgan.cli evaluate --device cuda --out runs/eval",
        "```", "",
    ])
    print(text)
    if args.write:
        write_section(f"evaluate-scale-{k}", text)


if __name__ == "__main__":
    main()
