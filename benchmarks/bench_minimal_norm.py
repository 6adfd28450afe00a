"""Minimal-norm attacks per norm against adv-lib, Foolbox, torchattacks and ART, in one run.

On the same model and the same correctly classified points, each family runs at the same budget
in every library: CW-L2 5 search rounds × 100 Adam steps (lr 0.01), DDN and FMN 100 steps,
DeepFool 50 steps with 10 candidate classes and overshoot 0.02. Every result is judged the same
way: the returned images are classified by the model, and the distance is recomputed from them.
A peer's failures come back as whatever that library returns (the unchanged input for most;
Foolbox's CW returns an all-black image, which usually counts as misclassified, at a large
distance). Each run that takes under 10 s is timed seven times, interleaved with the other
libraries' quick runs of the same family (ours, peer 1, peer 2, ours, …), and its median is
reported, so a burst of load on the machine falls on every library alike; slower runs are timed
once. ``queries`` is forward + backward passes per point: measured for robustgan, the configured
budget for the peers. The envelope is, per point, the smallest distortion of any robustgan attack
of that norm. ART takes part with DeepFool and CW; its CW replaces Adam by gradient descent with
a line search of up to five halvings and five doublings of the step inside every iteration, extra
forward passes the query column (the 1,000 gradient steps) does not count.

    python benchmarks/bench_minimal_norm.py --write
"""
from __future__ import annotations

import argparse
import copy
import os
import platform
import time
from typing import Callable, Dict, List

import torch
from torch.utils.data import Subset

import attacks
from results import write_section
from robustgan.data import load_dataset, take
from robustgan.models import load_classifier, model_fingerprint
from robustgan.models.default import default_checkpoint_path
from robustgan.optim.rules.minimal_norm import norm_of

NORMS = {"l2": 2.0, "linf": float("inf"), "l1": 1.0, "l0": 0.0}


def robust_model(standard):
    """The shipped CNN fine-tuned with PGD-AT (L∞ ε = 0.1, 5 steps, 2 epochs on 4,096 images)."""
    from robustgan.train import AdversarialConfig, TrainConfig, train_classifier

    train, _ = load_dataset("fashion-mnist", "train")
    net = copy.deepcopy(standard)
    cfg = TrainConfig(epochs=2, batch_size=64, seed=0, adversarial=AdversarialConfig("pgd", eps=0.1, steps=5))
    train_classifier(net, Subset(train, range(4096)), cfg, progress=False)
    return net.eval()


def peers(model, p: float) -> Dict[str, List]:
    """family -> [(library, attack(x, y) -> images, configured queries per point)]"""
    import adv_lib.attacks as al
    import foolbox as fb
    import torchattacks as ta

    fm = fb.PyTorchModel(model, bounds=(0, 1))

    def foolbox(attack):
        return lambda x, y: attack(fm, x, y, epsilons=None)[1]

    out: Dict[str, List] = {}
    if p == 2:
        from art.attacks.evasion import CarliniL2Method, DeepFool
        from art.estimators.classification import PyTorchClassifier

        clf = PyTorchClassifier(model, loss=torch.nn.CrossEntropyLoss(), input_shape=(1, 28, 28), nb_classes=10,
                                clip_values=(0.0, 1.0))

        def art(make):
            return lambda x, y: torch.from_numpy(make(len(x)).generate(x.numpy())).float()

        out["cw"] = [
            ("Foolbox", foolbox(fb.attacks.L2CarliniWagnerAttack(binary_search_steps=5, steps=100, stepsize=0.01,
                                                                 initial_const=1.0)), 1000),
            ("adv-lib", lambda x, y: al.carlini_wagner_l2(model, x, y, binary_search_steps=5, max_iterations=100,
                                                          initial_const=1.0, abort_early=False), 1000),
            ("torchattacks (one c, 500 steps)", lambda x, y: ta.CW(model, c=1, steps=500, lr=0.01)(x, y), 1000),
            ("ART (line search)", art(lambda n: CarliniL2Method(clf, binary_search_steps=5, max_iter=100,
                                                               learning_rate=0.01, initial_const=1.0,
                                                               batch_size=n, verbose=False)), 1000),
        ]
        out["ddn"] = [("Foolbox", foolbox(fb.attacks.DDNAttack(steps=100)), 200),
                      ("adv-lib", lambda x, y: al.ddn(model, x, y, steps=100, levels=None), 200)]
        out["deepfool"] = [
            ("Foolbox", foolbox(fb.attacks.L2DeepFoolAttack(steps=50, candidates=10, overshoot=0.02)), 100),
            ("adv-lib", lambda x, y: al.df(model, x, y, steps=50, overshoot=0.02, norm=2), 100),
            ("torchattacks", lambda x, y: ta.DeepFool(model, steps=50, overshoot=0.02)(x, y), 100),
            ("ART", art(lambda n: DeepFool(clf, max_iter=50, nb_grads=10, epsilon=0.02, batch_size=n,
                                           verbose=False)), 100),
        ]
    if p == float("inf"):
        out["deepfool"] = [
            ("Foolbox", foolbox(fb.attacks.LinfDeepFoolAttack(steps=50, candidates=10, overshoot=0.02)), 100),
            ("adv-lib", lambda x, y: al.df(model, x, y, steps=50, overshoot=0.02, norm=float("inf")), 100),
        ]
    fmn = {2.0: fb.attacks.L2FMNAttack, float("inf"): fb.attacks.LInfFMNAttack, 1.0: fb.attacks.L1FMNAttack,
           0.0: fb.attacks.L0FMNAttack}[p]
    out["fmn"] = [("Foolbox", foolbox(fmn(steps=100)), 200),
                  ("adv-lib", lambda x, y: al.fmn(model, x, y, norm=p, steps=100), 200)]
    return out


def ours(p: float) -> Dict[str, Callable]:
    norm = {2.0: "l2", float("inf"): "linf", 1.0: "l1", 0.0: "l0"}[p]
    out = {"fmn": lambda m, x, y: attacks.fmn(m, x, y, norm=norm, steps=100)}
    if p in (2.0, float("inf")):
        out["deepfool"] = lambda m, x, y: attacks.deepfool(m, x, y, norm=norm, steps=50, candidates=10, overshoot=0.02)
    if p == 2.0:
        out["ddn"] = lambda m, x, y: attacks.ddn(m, x, y, steps=100)
        out["cw"] = lambda m, x, y: attacks.cw_l2(m, x, y, steps=100, search_rounds=5)
        out["lbfgs"] = lambda m, x, y: attacks.lbfgs(m, x, y)
    return out


@torch.no_grad()
def judge(model, adv, x, y, p):
    adv = adv.detach().float().cpu()
    success = model(adv).argmax(1) != y
    d = norm_of(adv - x, p)
    return success, torch.where(success, d, torch.full_like(d, float("inf")))


def row(name, success, d, seconds, queries):
    ok = torch.isfinite(d)
    med = float(d[ok].median()) if bool(ok.any()) else float("nan")
    return {"name": name, "success": float(success.float().mean()), "median": med, "seconds": seconds,
            "queries": queries, "d": d}


def common_ratio(mine: torch.Tensor, theirs: torch.Tensor) -> float:
    """Our median over theirs, on the points both broke (neither side credited for dropping hard points)."""
    both = torch.isfinite(mine) & torch.isfinite(theirs)
    if not bool(both.any()):
        return float("nan")
    return float(mine[both].median()) / max(float(theirs[both].median()), 1e-12)


def timed_interleaved(runs: List[Callable], quick: float = 10.0, repeats: int = 7):
    """Each run's first output and its time: for runs that take under ``quick`` seconds the median
    of ``repeats`` timings, interleaved with the other quick runs (ours, peer 1, peer 2, ours, …)
    so that a burst of load on the machine falls on every library alike; one timing for the rest."""
    outputs, times = [], []
    for fn in runs:
        t0 = time.perf_counter()
        outputs.append(fn())
        times.append([time.perf_counter() - t0])
    fast = [(fn, t) for fn, t in zip(runs, times) if t[0] < quick]
    for _ in range(repeats - 1):
        for fn, t in fast:
            t0 = time.perf_counter()
            fn()
            t.append(time.perf_counter() - t0)
    return outputs, [sorted(t)[len(t) // 2] for t in times]


def run_model(label, model, x, y, only=None) -> List[str]:
    lines = []
    for norm, p in NORMS.items():
        mine = {k: v for k, v in ours(p).items() if only is None or k == only}
        if not mine:
            continue
        theirs = peers(model, p)
        distances, table = {}, []
        for family, attack in mine.items():
            runs = [lambda: attack(model, x, y)] + [lambda fn=fn: fn(x.clone(), y.clone())
                                                    for _, fn, _ in theirs.get(family, [])]
            outputs, times = timed_interleaved(runs)
            r, seconds = outputs[0], times[0]
            success, d = judge(model, r.x, x, y, p)
            distances[family] = d
            mine_row = row(f"**robustgan `{family}`**", success, d, seconds, float(r.queries.float().mean()))
            peer_rows = []
            for k, (lib, fn, q) in enumerate(theirs.get(family, []), start=1):
                adv, s = outputs[k], times[k]
                ps, pd = judge(model, adv, x, y, p)
                peer_rows.append(row(f"{lib} `{family}`", ps, pd, s, q))
            note = ""
            if peer_rows:
                strongest = min(peer_rows, key=lambda r_: (-r_["success"], common_ratio(r_["d"], d)))
                fastest = min(peer_rows, key=lambda r_: r_["seconds"])
                note = (f"vs strongest peer ({strongest['name']}): success "
                        f"{100 * (mine_row['success'] - strongest['success']):+.0f} points, median on common points "
                        f"{common_ratio(d, strongest['d']):.3f}×, time {mine_row['seconds'] / strongest['seconds']:.2f}×; "
                        f"time {mine_row['seconds'] / fastest['seconds']:.2f}× fastest peer")
            table.append((mine_row, note))
            table += [(r_, "") for r_ in peer_rows]
        best = torch.stack(list(distances.values())).amin(0)
        env = row("**robustgan envelope**", torch.isfinite(best), best,
                  sum(r_["seconds"] for r_, _ in table if r_["name"].startswith("**robustgan")), float("nan"))
        peer_all = [r_ for r_, _ in table if not r_["name"].startswith("**")]
        env_note = ""
        if peer_all:
            worst = max(peer_all, key=lambda r_: common_ratio(best, r_["d"]))
            env_note = (f"median on common points ≤ {common_ratio(best, worst['d']):.3f}× every single peer attack "
                        f"(closest: {worst['name']}); success ≥ every peer's")
            if any(env["success"] < r_["success"] for r_ in peer_all):
                env_note = env_note.replace("success ≥ every peer's", "success BELOW a peer's")
        table.append((env, env_note))
        lines += [f"### {label}, {norm}", "",
                  "| attack | success (%) | median distance | time (s) | queries / point | comparison |",
                  "|---|---:|---:|---:|---:|---|"]
        for r_, note in table:
            q = "—" if r_["queries"] != r_["queries"] else f"{r_['queries']:.0f}"
            lines.append(f"| {r_['name']} | {100 * r_['success']:.1f} | {r_['median']:.4g} | {r_['seconds']:.2f} | "
                         f"{q} | {note} |")
        lines.append("")
        print("\n".join(lines[-len(table) - 4:]), flush=True)
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100, help="correctly classified points per model")
    ap.add_argument("--only", default=None, help="one family (e.g. deepfool): its own section of RESULTS.md")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    torch.manual_seed(0)
    standard = load_classifier(default_checkpoint_path())
    models = {"standard CNN (shipped)": standard, "PGD-AT CNN": robust_model(standard)}
    x_all, y_all = take(load_dataset("fashion-mnist", "test")[0], 2000)
    flags = (f" --n {args.n}" if args.n != 100 else "") + (f" --only {args.only}" if args.only else "")
    lines = [f"Command: `python benchmarks/bench_minimal_norm.py{flags} --write`",
             "", f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__} (CPU, "
             f"{torch.get_num_threads()} threads), Python {platform.python_version()}.", ""]
    for label, model in models.items():
        with torch.no_grad():
            ok = model(x_all).argmax(1) == y_all
        x, y = x_all[ok][: args.n], y_all[ok][: args.n]
        lines.append(f"{label}: weights {model_fingerprint(model)}, {len(y)} correctly classified test points.")
        lines.append("")
        lines += run_model(label, model, x, y, args.only)
    title = "## Minimal-norm attacks per norm, equal budgets" + (f": `{args.only}` alone" if args.only else "")
    text = title + "\n\n" + (__doc__.split("\n\n")[1]) + "\n\n" + "\n".join(lines)
    if args.write:
        write_section("minimal-norm" + (f"-{args.only}" if args.only else ""), text)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
