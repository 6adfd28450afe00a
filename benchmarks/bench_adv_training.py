"""PGD-AT epoch time: robustgan's trainer against a plain hand-written PyTorch PGD-AT loop.

What it measures. The default architecture (SmallCNN, width 32, normalisation inside), the same
initial weights, the same first ``--n`` Fashion-MNIST training images shuffled by the same
generator into batches of ``--batch-size``, Adam (lr 1e-3), and PGD-AT (Madry et al. 2018) at
L∞ ε = 0.1 with ``--steps`` inner steps of 2.5ε/steps from a uniform random start, the inner attack
in eval mode, training on the last iterate:

* ``train_classifier(config=TrainConfig(adversarial=AdversarialConfig("pgd", ...)))`` — the
  library's trainer, whose inner maximisation is ``attacks.pgd`` on the one input optimiser;
* the textbook loop below, which does the same work with nothing around it but the loss and
  accuracy bookkeeping every training loop prints.

Each "epoch" is one pass over the ``--n`` images, timed with ``time.perf_counter`` (no checkpoint,
no test-set evaluation); the two are interleaved repeat by repeat (background load hits them
alike). Reported: the best of ``--repeats`` and, for the target, the median over repeats of the
per-repeat ratio (each repeat runs every method back to back, so a ratio compares like with like). One standard (non-adversarial) epoch is timed too,
for scale. ``--write`` records the table in benchmarks/RESULTS.md (its own ``adv-training`` block only).

With ``--device cuda`` both trainers run on the GPU (same batches, copied to it batch by batch;
the timings synchronise the device) and ``--write`` records its own ``adv-training-cuda`` section,
leaving the CPU figures alone; ``--out DIR`` also writes the section to ``DIR/<key>.md``.

    python benchmarks/bench_adv_training.py [--n 5120] [--steps 7] [--repeats 3] [--device cuda] [--out DIR] [--write]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset

from robustgan.data import load_dataset
from robustgan.models import Normalized, SmallCNN
from robustgan.train import AdversarialConfig, TrainConfig, train_classifier

from bench_pgd import hand_written_pgd
from results import write_section

EPS = 0.1
SECTION = "## Adversarial training"


def fresh_model(seed: int = 0) -> Normalized:
    torch.manual_seed(seed)
    return Normalized(SmallCNN(), (0.2860,), (0.3530,))


def hand_written_pgd_at_epoch(model, dataset, *, batch_size: int, steps: int, eps: float = EPS, epoch: int = 0,
                              seed: int = 0, opt=None, freeze: bool = False, device="cpu") -> dict:
    """One epoch of textbook PGD-AT: attack in eval mode, train on the last iterate, Adam step.

    ``freeze`` switches the weights' ``requires_grad`` off during the attack (what robustgan does).
    """
    alpha = 2.5 * eps / steps
    model.to(device)
    params = list(model.parameters())
    opt = opt or torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.Generator().manual_seed(seed * 100_003 + epoch)
    gen = torch.Generator().manual_seed(seed + 1)
    seen, loss_sum, correct = 0, 0.0, 0
    for x, y in DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=order):
        x, y = x.to(device), y.to(device)
        model.eval()
        if freeze:
            for p in params:
                p.requires_grad_(False)
        x_adv = hand_written_pgd(model, x, y, eps=eps, alpha=alpha, steps=steps, generator=gen)
        if freeze:
            for p in params:
                p.requires_grad_(True)
        model.train()
        logits = model(x_adv.detach())
        loss = F.cross_entropy(logits, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        seen += len(y)
        loss_sum += float(loss.detach()) * len(y)
        correct += int((logits.argmax(1) == y).sum())
    return {"loss": loss_sum / seen, "train_acc": correct / seen}


METHODS = ("robustgan", "hand", "hand-frozen")


def sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def run(n: int, steps: int, repeats: int, batch_size: int, device: str = "cpu") -> dict:
    train, _ = load_dataset("fashion-mnist", "train")
    data = Subset(train, range(n))
    adv = AdversarialConfig("pgd", eps=EPS, steps=steps)
    wall = {k: [] for k in (*METHODS, "standard")}
    cpu = {k: [] for k in (*METHODS, "standard")}
    last = {}

    def epoch(name: str):
        model = fresh_model()
        if name == "robustgan":
            cfg = TrainConfig(epochs=1, batch_size=batch_size, seed=0, adversarial=adv)
            return train_classifier(model, data, cfg, progress=False, device=device).epochs[-1]
        if name == "standard":
            return train_classifier(model, data, TrainConfig(epochs=1, batch_size=batch_size, seed=0),
                                    progress=False, device=device).epochs[-1]
        return hand_written_pgd_at_epoch(model, data, batch_size=batch_size, steps=steps, freeze=name == "hand-frozen",
                                         device=device)

    for r in range(repeats + 1):  # repeat 0 is the warm-up
        order = list(METHODS[r % 3:] + METHODS[:r % 3]) + (["standard"] if r in (0, repeats) else [])
        for name in order:
            sync(device)
            t0, c0 = time.perf_counter(), time.process_time()
            h = epoch(name)
            sync(device)
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            if r:
                wall[name].append(dt)
                cpu[name].append(dc)
            last[name] = h
    best = {k: min(v) for k, v in wall.items()}
    best_cpu = {k: min(v) for k, v in cpu.items()}
    paired = {k: statistics.median(a / b for a, b in zip(cpu[k], cpu["hand"])) for k in METHODS}
    paired_frozen = {k: statistics.median(a / b for a, b in zip(cpu[k], cpu["hand-frozen"])) for k in METHODS}
    return {"n": n, "steps": steps, "batch_size": batch_size, "repeats": repeats, "wall": wall, "cpu": cpu,
            "best": best, "best_cpu": best_cpu, "paired": paired,
            "paired_frozen": paired_frozen, "last": last, "threads": torch.get_num_threads(),
            "device": str(device)}


def table(res: dict) -> str:
    b, c, n, last = res["best"], res["best_cpu"], res["n"], res["last"]
    device = torch.device(res.get("device", "cpu"))
    gpu = None if device.type == "cpu" else torch.cuda.get_device_name(device)
    names = {"hand": "hand-written PGD-AT loop", "hand-frozen": "hand-written loop, weights frozen during the attack",
             "robustgan": "robustgan `train_classifier(adversarial=pgd)`", "standard": "(standard training epoch, for scale)"}
    lines = [
        SECTION if gpu is None else f"{SECTION} ({gpu})",
        "",
        f"### PGD-AT epoch time (L∞ ε=0.1, {res['steps']} inner steps of 2.5ε/{res['steps']}), default SmallCNN, "
        f"{n:,} Fashion-MNIST training images",
        "",
        f"Command: `OMP_NUM_THREADS={res['threads']} python benchmarks/bench_adv_training.py --n {n} --steps {res['steps']} "
        f"--repeats {res['repeats']}{'' if gpu is None else f' --device {device}'}` (add `--write` to regenerate this section).",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs shared with other jobs, torch {torch.__version__} ("
        + (f"CPU, {res['threads']} thread(s)" if gpu is None else f"{gpu}, CUDA {torch.version.cuda}")
        + f"), Python {platform.python_version()}. Batches of {res['batch_size']}, Adam lr 1e-3, "
        f"same initial weights and batch order; {res['repeats']} interleaved repeats after a warm-up. Wall time "
        f"swings with the machine's other load, so process CPU time (`time.process_time`) is reported too and the "
        f"ratios use CPU time: the table's times are the best repeat; the paired ratio is the median over repeats of "
        f"(robustgan / loop) within a repeat, whose methods ran back to back.",
        "",
        "| method | wall (s) | CPU (s) | images/s (CPU) | × hand loop (best) | × hand loop (paired median) | "
        "× frozen hand loop (paired median) | train loss | adv. train acc. (%) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for k in (*METHODS, "standard"):
        loss = f"{last[k]['loss']:.3f}"
        acc = f"{100 * last[k]['train_acc']:.1f}" if k != "standard" else "(clean)"
        pm = f"{res['paired'][k]:.3f}" if k in res["paired"] else "—"
        pf = f"{res['paired_frozen'][k]:.3f}" if k in res["paired_frozen"] else "—"
        lines.append(f"| {names[k]} | {b[k]:.2f} | {c[k]:.2f} | {n / c[k]:.0f} | {c[k] / c['hand']:.3f} | {pm} | {pf} | "
                     f"{loss} | {acc} |")
    r1, r2 = res["paired"]["robustgan"], res["paired_frozen"]["robustgan"]
    lines += [
        "",
        "All CPU times (s): " + "; ".join(f"{k} {', '.join(f'{t:.2f}' for t in res['cpu'][k])}" for k in res["cpu"]) + ".",
        "",
        f"Target: robustgan ≤ 1.05× the hand loop (paired median of CPU time): {r1:.3f}× the plain loop — {'met' if r1 <= 1.05 else 'NOT met'}; "
        f"{r2:.3f}× the loop that also freezes the weights — {'met' if r2 <= 1.05 else 'NOT met'}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=5120)
    p.add_argument("--steps", type=int, default=7)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]: both trainers on it")
    p.add_argument("--out", default=None, help="also write the section to DIR/<key>.md")
    p.add_argument("--write", action="store_true")
    args = p.parse_args()
    res = run(args.n, args.steps, args.repeats, args.batch_size, args.device)
    text = table(res)
    print(text)
    device = torch.device(args.device)
    key = "adv-training" if device.type == "cpu" else f"adv-training-{device.type}"
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        Path(args.out, f"{key}.md").write_text(text)
    if args.write:
        write_section(key, text)


if __name__ == "__main__":
    main()
