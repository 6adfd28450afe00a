"""Generator architectures at equal budget, truncation ψ, inversion spaces, attribution and the style network.

What it measures (every part on one CPU thread, real Fashion-MNIST, nothing downloaded):

* ``quality``: DCGAN, progressive growing, LAPGAN and the style-based generator trained with the same
  batch size, the same number of generator updates, the same loss (non-saturating), width and latent
  size, on the same training images, each with the Adam settings of its paper (``OPTIM``: DCGAN's
  2e-4, β (0.5, 0.999) for DCGAN and LAPGAN; 1e-3, β (0, 0.99) for the equalised-learning-rate
  progressive and style-based generators, see ``robustgan.gan.optimizers.PAPER_ADAM``); FID-local,
  KID-local, precision and recall of ``--num-eval`` samples against as many real test images, and the
  training time.
* ``psi``: the style generator's truncation ψ ∈ {0.3, 0.5, 0.7, 0.85, 1.0}: FID-local, precision,
  recall per ψ (and ``docs/images/style-psi-curve.png``).
* ``inversion``: the same targets (samples of the style generator from held-out seeds, under its
  fixed noise, and real test images) inverted in z, W and W+ with the same restarts, steps and lr.
* ``attribution``: two style generators (training seeds 0 and 1) and the DCGAN; their samples
  (held-out seeds) and real test images attributed with ``attribution_experiment`` (threshold
  calibrated on other real images at ``--fpr``).
* ``style-network``: the feed-forward style network trained on Fashion-MNIST against
  ``robustgan style``'s optimisation per image (``compare_style_transfer``, same objective).

Trained generators are cached under ``runs/bench-generators/`` (with their training time), so a
rerun skips training. ``--write`` records each part's section in ``benchmarks/RESULTS.md`` as soon
as that part finishes.

    python benchmarks/bench_generators.py [--parts quality,psi,inversion,attribution,style-network]
        [--steps 600] [--width 16] [--write]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

import torch
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import write_section  # noqa: E402

from robustgan.data import load_dataset  # noqa: E402
from robustgan.gan import FeatureExtractor, GANConfig, generate, load_generator, train_gan  # noqa: E402
from robustgan.gan.metrics import frechet_distance, kernel_distance, precision_recall  # noqa: E402
from robustgan.gan.inversion import attribution_experiment, invert  # noqa: E402
from robustgan.gan.optimizers import paper_optimizer  # noqa: E402
from robustgan.gan.style.noise import fixed_noise  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "runs" / "bench-generators"
PLOT = ROOT / "docs" / "images" / "style-psi-curve.png"
ARCHS = ("dcgan", "progressive", "lapgan", "style")
PSIS = (0.3, 0.5, 0.7, 0.85, 1.0)
PARTS = ("quality", "psi", "inversion", "attribution", "style-network")
TRAINED: set = set()  # runs trained by this process
CACHED: set = set()  # runs of the current part read back from the cache (their train time is an earlier run's)
HELD_OUT_SEED = 100_000  # sampling seeds for evaluation and targets: never used in training
# GANConfig overrides per architecture: its paper's Adam ({} = the loss's defaults, DCGAN's Adam 2e-4, β (0.5, 0.999))
OPTIM: Dict[str, Dict] = {arch: paper_optimizer(arch) for arch in ARCHS}
PHASES_PER_RUN = 16  # progressive: phase length = steps // PHASES_PER_RUN (the growing's 5 phases take 5/16 of
# the run, the rest trains at full resolution; at 1/8 it spent 5/8 of a short run below 28 px)


def machine_line() -> str:
    return (f"Machine: {platform.machine()}, {os.cpu_count()} CPUs (shared with other jobs), torch {torch.__version__} "
            f"(CPU, {torch.get_num_threads()} thread), Python {platform.python_version()}.")


def command_line(args: argparse.Namespace, part: str) -> str:
    return (f"Command: `python benchmarks/bench_generators.py --parts {part} --steps {args.steps} --width {args.width} "
            f"--latent-dim {args.latent_dim} --batch-size {args.batch_size} --num-eval {args.num_eval}"
            + (f" --tag {args.tag}" if args.tag else "") + (" --write" if args.write else "") + "`.")


def adam_text(arch: str) -> str:
    cfg = GANConfig(arch=arch, loss="non-saturating", **OPTIM[arch]).resolved()
    lr = f"{cfg.lr_g:g}" if cfg.lr_g == cfg.lr_d else f"G {cfg.lr_g:g} / D {cfg.lr_d:g}"
    return f"Adam {lr} ({cfg.betas[0]:g}, {cfg.betas[1]:g})"


def optimiser_text() -> str:
    """Each architecture's optimiser, grouped: e.g. 'Adam 2e-4 (0.5, 0.999) for dcgan, lapgan; …'."""
    groups: Dict[str, List[str]] = {}
    for arch in ARCHS:
        groups.setdefault(adam_text(arch), []).append(arch)
    return "; ".join(f"{text} for {', '.join(archs)}" for text, archs in groups.items())


def budget_line(args: argparse.Namespace) -> str:
    return (f"Budget, identical for every generator: {args.steps} generator updates (1 D step each), batch "
            f"{args.batch_size}, width {args.width}, latent {args.latent_dim}, non-saturating loss, "
            f"no EMA, the first {args.num_train} Fashion-MNIST training images. Optimiser: each architecture's "
            f"paper's — {optimiser_text()} (DCGAN, Radford et al. 2016; progressive growing, Karras et al. 2018, "
            "and the style-based generator, Karras et al. 2019, use equalised learning rate, under which DCGAN's "
            "2e-4 is a far smaller step; the style generator's mapping network learns at 0.01 × lr, as in StyleGAN). "
            f"Progressive: {phase_steps(args)} steps (1/{PHASES_PER_RUN} of the run) per fade-in / stabilisation "
            f"phase (7 → 14 → 28 px, full resolution from step {5 * phase_steps(args)}).")


def phase_steps(args: argparse.Namespace) -> int:
    """Progressive phases sized so the growing (five phases) takes 5/``PHASES_PER_RUN`` of the run and the
    rest trains at 28 px."""
    return max(1, args.steps // PHASES_PER_RUN)


# --- training (cached) --------------------------------------------------------------------------

def run_dir(args: argparse.Namespace, arch: str, seed: int) -> Path:
    """The cache folder of a run: its settings in the name (optimiser and phase length where not the defaults)."""
    name = f"{arch}-w{args.width}-z{args.latent_dim}-b{args.batch_size}-n{args.steps}-s{seed}"
    opt = OPTIM[arch]
    if opt:
        name += f"-lr{opt['lr_g']:g}_{opt['lr_d']:g}-b{opt['betas'][0]:g}_{opt['betas'][1]:g}"
    if arch == "progressive":
        name += f"-p{phase_steps(args)}"
    return CACHE / name


def trained(args: argparse.Namespace, images: Tensor, arch: str, seed: int = 0) -> Tuple[nn.Module, float]:
    """(generator in eval mode, training seconds): trained here, or read back from the cache."""
    out = run_dir(args, arch, seed)
    meta_path = out / "bench.json"
    if not (meta_path.exists() and (out / "checkpoint.pt").exists()):
        cfg = GANConfig(arch=arch, loss="non-saturating", width=args.width, latent_dim=args.latent_dim,
                        batch_size=args.batch_size, seed=seed, progressive_steps=phase_steps(args), **OPTIM[arch])
        print(f"training {arch} seed {seed} for {args.steps} steps", flush=True)
        t0 = time.perf_counter()
        train_gan(images, None, cfg, steps=args.steps, out_dir=out, progress=False, log_every=max(1, args.steps // 4),
                  sample_every=10 ** 9, checkpoint_every=args.steps)
        meta = {"seconds": time.perf_counter() - t0, "steps": args.steps}
        meta_path.write_text(json.dumps(meta))
        TRAINED.add(out.name)
    elif out.name not in TRAINED:
        CACHED.add(out.name)
    meta = json.loads(meta_path.read_text())
    return load_generator(out / "checkpoint.pt", ema=False), float(meta["seconds"])


# --- sample quality -------------------------------------------------------------------------------

def scores(extractor: FeatureExtractor, real_features: Tensor, fake: Tensor) -> Dict[str, float]:
    """FID-local, KID-local, precision and recall of ``fake`` against precomputed real features."""
    ff = extractor(fake)
    kid, kid_std = kernel_distance(real_features, ff, 50, min(1000, fake.shape[0]), torch.Generator().manual_seed(0))
    precision, recall = precision_recall(real_features, ff, 3)
    return {"fid": frechet_distance(real_features, ff), "kid": kid, "kid_std": kid_std,
            "precision": precision, "recall": recall}


def part_quality(args, data, extractor, real_features) -> str:
    rows, results = [], {}
    for arch in ARCHS:
        g, seconds = trained(args, data["train"], arch)
        s = scores(extractor, real_features, generate(g, args.num_eval, seed=HELD_OUT_SEED))
        results[arch] = s
        rows.append(f"| {arch} | {s['fid']:.2f} | {s['kid']:.4f} ± {s['kid_std']:.4f} | {s['precision']:.3f} | "
                    f"{s['recall']:.3f} | {seconds:.0f} |")
        print(rows[-1], flush=True)
    base = results["dcgan"]["fid"]
    verdicts = [f"{arch}: FID-local {results[arch]['fid']:.2f} vs DCGAN {base:.2f} — "
                + ("matches or beats DCGAN" if results[arch]["fid"] <= base else "does NOT match DCGAN")
                for arch in ("progressive", "style")]
    return "\n".join([
        f"### Generator architectures at equal training budget: {args.steps} generator updates each (Fashion-MNIST)", "",
        command_line(args, "quality"), "", machine_line(), "", budget_line(args), "",
        f"Metrics on {args.num_eval} samples (held-out sampling seed) against {args.num_eval} real test images, in the "
        "penultimate-layer features of the shipped Fashion-MNIST classifier (FID-/KID-local: not comparable with "
        "Inception FID); precision/recall: k = 3 manifolds (Kynkäänniemi et al. 2019). Lower FID/KID is better.", "",
        "| generator | FID-local | KID-local | precision | recall | train time (s) |",
        "|---|---:|---:|---:|---:|---:|", *rows, "",
        "Goal (progressive and style-based at least match DCGAN by FID-local): " + "; ".join(verdicts) + ".",
    ])


def part_psi(args, data, extractor, real_features) -> str:
    g, _ = trained(args, data["train"], "style")
    rows, curve = [], []
    for psi in PSIS:
        g.truncation_psi = psi
        s = scores(extractor, real_features, generate(g, args.num_eval, seed=HELD_OUT_SEED))
        curve.append((psi, s))
        rows.append(f"| {psi} | {s['fid']:.2f} | {s['kid']:.4f} | {s['precision']:.3f} | {s['recall']:.3f} |")
        print(rows[-1], flush=True)
    g.truncation_psi = 1.0
    plot_psi(curve)
    prec = [s["precision"] for _, s in curve]
    fid = [s["fid"] for _, s in curve]
    trade = ("lowest ψ has the highest precision and ψ = 1 the best FID-local" if prec[0] == max(prec) and fid[-1] == min(fid)
             else "the trade-off is not clean here: see the rows")
    return "\n".join([
        "### Style-based generator: truncation ψ (Fashion-MNIST)", "",
        command_line(args, "psi"), "", machine_line(), "", budget_line(args), "",
        f"The style generator of the table above; w ← w̄ + ψ(w − w̄) with the tracked mean w̄; {args.num_eval} samples "
        "per ψ (the same z for every ψ) against real test images. Plot: `docs/images/style-psi-curve.png`.", "",
        "| ψ | FID-local | KID-local | precision | recall |", "|---:|---:|---:|---:|---:|", *rows, "",
        f"Expected trade-off (lower ψ: higher precision, worse FID): {trade}.",
    ])


def plot_psi(curve: Sequence[Tuple[float, Dict[str, float]]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    psi = [p for p, _ in curve]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(psi, [s["fid"] for _, s in curve], "o-", color="tab:red", label="FID-local")
    ax.set_xlabel("truncation ψ")
    ax.set_ylabel("FID-local (lower is better)", color="tab:red")
    ax2 = ax.twinx()
    ax2.plot(psi, [s["precision"] for _, s in curve], "s--", color="tab:blue", label="precision")
    ax2.plot(psi, [s["recall"] for _, s in curve], "^:", color="tab:green", label="recall")
    ax2.set_ylabel("precision / recall")
    ax2.set_ylim(0, 1)
    fig.legend(loc="upper center", ncol=3, fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(PLOT, dpi=120)
    plt.close(fig)


# --- inversion in z, W, W+ ----------------------------------------------------------------------------

def generated_targets(g: nn.Module, n: int, seed: int) -> Tensor:
    """Samples of ``g`` under its fixed noise: exactly on the range every inversion space searches."""
    z = g.sample_latent(n, torch.Generator().manual_seed(seed), device=torch.device("cpu"))
    with torch.no_grad(), fixed_noise([g]):
        return g(z)


def part_inversion(args, data, extractor, real_features) -> str:
    g, _ = trained(args, data["train"], "style")
    targets = {"generated": generated_targets(g, args.inv_generated, HELD_OUT_SEED + 1),
               "real": data["test"][-args.inv_real:]}
    rows = []
    means: Dict[str, Dict[str, float]] = {}
    for space in ("z", "w", "w+"):
        t0 = time.perf_counter()
        res = {name: invert(g, x, restarts=args.inv_restarts, steps=args.inv_steps, lr=args.inv_lr, seed=0,
                            space=space).residuals[0] for name, x in targets.items()}
        seconds = time.perf_counter() - t0
        means[space] = {name: float(r.mean()) for name, r in res.items()}
        rows.append(f"| {space} | {means[space]['generated']:.5f} | {float(res['generated'].median()):.5f} | "
                    f"{means[space]['real']:.5f} | {float(res['real'].median()):.5f} | {seconds:.0f} |")
        print(rows[-1], flush=True)
    order = {name: sorted(means, key=lambda s: means[s][name]) for name in targets}
    verdict = "; ".join(f"{name} targets: lowest mean residual in {order[name][0].upper()}"
                        + (" (as expected)" if order[name][0] == "w+" else " (NOT W+ as expected)") for name in targets)
    return "\n".join([
        "### Inversion of the style-based generator in z, W and W+", "",
        f"Command: `python benchmarks/bench_generators.py --parts inversion --steps {args.steps} --width {args.width} "
        f"--latent-dim {args.latent_dim} --inv-steps {args.inv_steps} --inv-restarts {args.inv_restarts} "
        f"--inv-lr {args.inv_lr}" + (" --write" if args.write else "") + "`.", "", machine_line(), "",
        f"The style generator of the first table ({budget_line(args)[len('Budget, identical for every generator: '):]}) "
        f"The same targets in every space: {args.inv_generated} of its samples from held-out seeds (made under its "
        f"fixed noise, which inversion also uses) and the last {args.inv_real} Fashion-MNIST test images. "
        f"{args.inv_restarts} restarts × {args.inv_steps} Adam steps, lr {args.inv_lr}, in every space (W, W+: restart "
        "0 starts at w̄). Residual: ‖G(·) − x‖²/P of the best restart.", "",
        "| space | generated: mean residual | median | real: mean residual | median | time (s) |",
        "|---|---:|---:|---:|---:|---:|", *rows, "",
        f"Expected W+ lowest: {verdict}.",
    ])


# --- attribution ---------------------------------------------------------------------------------------

def part_attribution(args, data, extractor, real_features) -> str:
    names = ["style seed 0", "style seed 1", "DCGAN seed 0"]
    gens = [trained(args, data["train"], "style", 0)[0], trained(args, data["train"], "style", 1)[0],
            trained(args, data["train"], "dcgan", 0)[0]]
    test = data["test"]
    real, calibration = test[-2 * args.att_real:-args.att_real], test[-2 * args.att_real - args.att_calibration:-2 * args.att_real]
    t0 = time.perf_counter()
    with fixed_noise(gens):
        run = attribution_experiment(gens, real, calibration, names=names, num_generated=args.att_generated,
                                     fpr=args.fpr, seed=HELD_OUT_SEED + 2, restarts=args.inv_restarts,
                                     steps=args.inv_steps, lr=args.inv_lr)
    seconds = time.perf_counter() - t0
    rep, truth, decision = run.report, run.truth, run.attribution.decision
    rows = []
    for i, name in enumerate(names):
        mine = truth == i
        rows.append(f"| {name} | {int(mine.sum())} | {float((decision[mine] == i).double().mean()):.3f} |")
    rows.append(f"| all generated | {rep['generated_images']} | {rep['accuracy_generated']:.3f} |")
    rows.append(f"| real (correct = \"none\") | {rep['real_images']} | {rep['real_labelled_none']:.3f} |")
    labels = rep["confusion"]["labels"]
    confusion = ["| true \\ decided | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
    for label, counts in zip(labels, rep["confusion"]["matrix"]):
        if sum(counts):
            confusion.append(f"| {label} | " + " | ".join(str(c) for c in counts) + " |")
    print("\n".join(rows), flush=True)
    return "\n".join([
        "### Provenance attribution: two style-based generators and a DCGAN", "",
        f"Command: `python benchmarks/bench_generators.py --parts attribution --steps {args.steps} --width {args.width} "
        f"--latent-dim {args.latent_dim} --att-generated {args.att_generated} --att-real {args.att_real} "
        f"--att-calibration {args.att_calibration} --fpr {args.fpr} --inv-steps {args.inv_steps} "
        f"--inv-restarts {args.inv_restarts}" + (" --write" if args.write else "") + "`.", "", machine_line(), "",
        f"Generators: the style generator of the first table, the same recipe trained from seed 1, and the DCGAN of the "
        f"first table ({args.steps} steps each). `attribution_experiment`: {args.att_generated} samples per generator "
        f"(held-out sampling seeds; style generators on their fixed noise), {args.att_real} real test images, the "
        f"\"none\" threshold calibrated on {args.att_calibration} other real test images at FPR {args.fpr}; inversion in "
        f"z, {args.inv_restarts} restarts × {args.inv_steps} Adam steps, lr {args.inv_lr}; {seconds:.0f} s in all. "
        f"Threshold {rep['threshold']:.5f}.", "",
        "| true source | images | accuracy |", "|---|---:|---:|", *rows, "",
        "Accuracy of generated images: decided = their generator (a \"none\" counts as wrong); real: share labelled "
        f"\"none\". Accuracy by smallest residual alone (no threshold): {rep['argmin_accuracy_generated']:.3f}.", "",
        *confusion,
    ])


# --- the style network ----------------------------------------------------------------------------------

def part_style_network(args, data, extractor, real_features) -> str:
    from robustgan.visualize.style_compare import compare_style_transfer
    from robustgan.visualize.style_network import default_style_image
    from robustgan.visualize.style_network_train import train_style_network

    style = default_style_image()
    t0 = time.perf_counter()
    run = train_style_network(data["train"][:args.num_train], style, steps=args.sn_steps, batch_size=16, seed=0,
                              progress=False)
    train_seconds = time.perf_counter() - t0
    content = data["test"][:args.sn_images]
    cmp = compare_style_transfer(run.net, run.objective, content, style, steps=args.sn_opt_steps)
    ff, opt = cmp["feed_forward"], cmp["optimisation"]
    rows = [f"| {name} | {d['seconds_per_image'] * 1000:.2f} | {d['style_loss']:.4f} | {d['content_loss']:.4f} | "
            f"{d['loss']:.4f} |" for name, d in (("feed-forward style network", ff),
                                                 (f"`robustgan style` optimisation ({args.sn_opt_steps} L-BFGS)", opt),
                                                 ("content image itself (no transfer)", {**cmp["content_start"],
                                                                                         "seconds_per_image": 0.0}))]
    ratio = ff["style_loss"] / max(opt["style_loss"], 1e-12)
    fast_ok, loss_ok = cmp["speedup"] >= 100, ratio <= 2
    print("\n".join(rows), flush=True)
    return "\n".join([
        "### Feed-forward style network against optimisation per image", "",
        f"Command: `python benchmarks/bench_generators.py --parts style-network --num-train {args.num_train} "
        f"--sn-steps {args.sn_steps} --sn-images {args.sn_images} --sn-opt-steps {args.sn_opt_steps}"
        + (" --write" if args.write else "") + "`.", "", machine_line(), "",
        f"Style: `robustgan style`'s default (the flower photo's dahlia crop, 96 px); feature network random-multiscale; "
        f"content weight 1, style weight 10. The network (width 16, 3 residual blocks) trained {args.sn_steps} steps "
        f"× batch 16 on the first {args.num_train} Fashion-MNIST training images in {train_seconds:.0f} s. Both methods "
        f"stylise the first {args.sn_images} test images and are scored by the same objective "
        "(`compare_style_transfer`); the network in one batched pass, the optimisation one image at a time from the "
        "content.", "",
        "| method | ms per image | style loss | content loss | α·content + β·style |", "|---|---:|---:|---:|---:|", *rows, "",
        f"Target ≥ 100× faster at a style loss within 2× of the optimisation's: {cmp['speedup']:.0f}× faster "
        f"({'met' if fast_ok else 'NOT met'}), style loss {ratio:.2f}× the optimisation's "
        f"({'met' if loss_ok else 'NOT met'}).",
    ])


# --- driver ------------------------------------------------------------------------------------------

RUNNERS: Dict[str, Tuple[str, Callable[..., str]]] = {
    "quality": ("generators", part_quality),
    "psi": ("generators-psi", part_psi),
    "inversion": ("generators-inversion", part_inversion),
    "attribution": ("generators-attribution", part_attribution),
    "style-network": ("style-network", part_style_network),
}


def parse_args(argv: List[str] = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default=",".join(PARTS), help="comma-separated: " + ", ".join(PARTS))
    for flag, kind, default in (("--steps", int, 600), ("--width", int, 16), ("--latent-dim", int, 64),
                                ("--batch-size", int, 64), ("--num-train", int, 20000), ("--num-eval", int, 2000),
                                ("--inv-generated", int, 64), ("--inv-real", int, 32), ("--inv-steps", int, 150),
                                ("--inv-restarts", int, 2), ("--inv-lr", float, 0.1), ("--att-generated", int, 24),
                                ("--att-real", int, 24), ("--att-calibration", int, 48), ("--fpr", float, 0.05),
                                ("--sn-steps", int, 300), ("--sn-images", int, 8), ("--sn-opt-steps", int, 100)):
        ap.add_argument(flag, type=kind, default=default)
    ap.add_argument("--write", action="store_true", help="record each part's section in benchmarks/RESULTS.md")
    ap.add_argument("--tag", default="", help="suffix of the RESULTS.md keys (a second budget beside the first)")
    args = ap.parse_args(argv)
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = sorted(set(args.parts) - set(PARTS))
    if unknown:
        ap.error(f"unknown parts {unknown}; choose from {PARTS}")
    return args


def main(argv: List[str] = None) -> None:
    torch.set_num_threads(1)
    args = parse_args(argv)
    train, _ = load_dataset("fashion-mnist", "train")
    test, _ = load_dataset("fashion-mnist", "test")
    data = {"train": train.tensors[0][:args.num_train].float(), "test": test.tensors[0].float()}
    extractor = FeatureExtractor.default()
    real_features = extractor(data["test"][:args.num_eval])
    t_all = time.perf_counter()
    for part in args.parts:
        key, fn = RUNNERS[part]
        t0 = time.perf_counter()
        CACHED.clear()
        text = fn(args, data, extractor, real_features)
        text += f"\n\nPart wall time: {time.perf_counter() - t0:.0f} s" + (
            " (generators read back from runs/bench-generators/, trained by an earlier run: train times are that "
            "run's)." if CACHED else ".")
        print(text, flush=True)
        if args.write:
            write_section(key + (f"-{args.tag}" if args.tag else ""), text)
    print(f"total wall time {time.perf_counter() - t_all:.0f} s", flush=True)


if __name__ == "__main__":
    main()
