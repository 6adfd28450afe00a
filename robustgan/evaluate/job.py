"""``robustgan evaluate``: clean and robust accuracy, ε sweeps, minimal distortion, a report."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch

import attacks as zoo

from ..data import load_dataset, take
from ..models import load_classifier, load_model, model_fingerprint
from ..models.default import DEFAULT_COMMAND, default_checkpoint_path
from ..report import evaluation_markdown, plot_accuracy_curves, plot_adversarial_grid
from .checks import attack_checks, checks_to_json, model_checks
from .minimal import distortion_curve, distortion_summary
from .suite import SUITES, SuiteSettings, run_suite
from .sweep import per_class_accuracy, predict, robustness_sweep

DEFAULT_EPS = {"linf": [0.01, 0.02, 0.05, 0.1, 0.15, 0.2], "l2": [0.25, 0.5, 1.0, 1.5, 2.0, 3.0]}
SWEEP_ATTACKS = ("fgsm", "pgd")
MINIMAL_ATTACKS = ("lbfgs", "cw")


@dataclass
class EvaluateConfig:
    checkpoint: Optional[Path] = None
    arch: Optional[str] = None  # with a plain state dict: small-cnn, small-resnet or timm:<name>
    in_channels: int = 1
    num_classes: int = 10
    mean: Optional[List[float]] = None
    std: Optional[List[float]] = None
    dataset: str = "fashion-mnist"
    data_dir: Optional[str] = None
    attacks: List[str] = field(default_factory=lambda: ["fgsm", "pgd", "lbfgs", "cw"])
    norms: List[str] = field(default_factory=lambda: ["linf", "l2"])
    eps_linf: Optional[List[float]] = None
    eps_l2: Optional[List[float]] = None
    steps: int = 20
    restarts: int = 1
    num_examples: int = 1000
    num_minimal: int = 100
    batch_size: int = 500
    device: str = "cpu"
    seed: int = 0
    out: Path = Path("robustgan-report")
    progress: bool = True
    suite: Optional[str] = None  # None, "quick" or "standard" (AutoAttack's line-up)
    suite_eps_linf: float = 0.1
    suite_eps_l2: float = 1.5
    suite_steps: int = 100
    suite_queries: int = 5000
    checks: bool = True
    check_examples: int = 100


def _check(cfg: EvaluateConfig) -> None:
    unknown = [a for a in cfg.attacks if a not in SWEEP_ATTACKS + MINIMAL_ATTACKS]
    if unknown:
        raise ValueError(f"unknown attack(s) {unknown}; choose from {list(SWEEP_ATTACKS + MINIMAL_ATTACKS)}")
    bad = [n for n in cfg.norms if n not in DEFAULT_EPS]
    if bad:
        raise ValueError(f"unknown norm(s) {bad}; choose from linf, l2")
    if cfg.suite is not None and cfg.suite not in SUITES:
        raise ValueError(f"unknown suite {cfg.suite!r}; choose from {sorted(SUITES)}")
    for name in ("num_examples", "batch_size", "steps", "restarts", "suite_steps", "suite_queries", "check_examples"):
        if getattr(cfg, name) < 1:
            raise ValueError(f"{name} must be >= 1, got {getattr(cfg, name)}")
    for name in ("eps_linf", "eps_l2"):
        values = getattr(cfg, name) or []
        if any(e < 0 for e in values):
            raise ValueError(f"{name}: every ε must be >= 0, got {values}")


def _sweep_attack(name: str, norm: str, cfg: EvaluateConfig):
    if name == "fgsm":
        if norm == "linf":
            return lambda m, x, y, e: zoo.fgsm(m, x, y, e), "one sign step"
        # the L2 fast gradient method: a single normalised step of length ε
        return (lambda m, x, y, e: zoo.pgd(m, x, y, e, norm="l2", steps=1, step_size=e, random_start=False)), \
            "one normalised-gradient step (FGM)"
    gen = torch.Generator().manual_seed(cfg.seed)
    return (lambda m, x, y, e: zoo.pgd(m, x, y, e, norm=norm, steps=cfg.steps, restarts=cfg.restarts,
                                       early_stop=True, generator=gen)), \
        f"{cfg.steps} steps, step 2.5ε/{cfg.steps}, random start, {cfg.restarts} restart(s), early exit"


def evaluate_job(cfg: EvaluateConfig) -> Dict[str, Any]:
    _check(cfg)
    t0 = time.perf_counter()
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = Path(cfg.checkpoint) if cfg.checkpoint else default_checkpoint_path()
    if cfg.checkpoint is None and not ckpt.exists():
        raise FileNotFoundError(f"the default model is missing from the package; create it with: {DEFAULT_COMMAND}")
    if cfg.arch is not None or cfg.checkpoint is not None:
        model = load_model(cfg.checkpoint, cfg.arch, cfg.device, cfg.mean, cfg.std,
                           **({"in_channels": cfg.in_channels, "num_classes": cfg.num_classes} if cfg.arch else {}))
    else:
        model = load_classifier(ckpt, cfg.device)
    dataset, info = load_dataset(cfg.dataset, "test", cfg.data_dir)
    x, y = take(dataset, cfg.num_examples)
    x, y = x.to(cfg.device), y.to(cfg.device)
    pred = predict(model, x, cfg.batch_size)
    clean = pred == y
    classes = list(info.classes)
    log = (lambda s: print(s, flush=True)) if cfg.progress else (lambda s: None)
    log(f"clean accuracy {clean.float().mean():.3f} on {len(y)} {info.name} examples ({info.source})")

    sweeps, curves, grid_source = [], {}, None
    for norm in cfg.norms:
        eps = (cfg.eps_linf if norm == "linf" else cfg.eps_l2) or DEFAULT_EPS[norm]
        curves[norm] = {}
        for name in [a for a in cfg.attacks if a in SWEEP_ATTACKS]:
            attack, description = _sweep_attack(name, norm, cfg)
            s0 = time.perf_counter()
            res = robustness_sweep(model, x, y, eps, attack, norm, cfg.batch_size, clean)
            acc = res.accuracy()
            label = f"{name.upper()} ({'sweep'})"
            curves[norm][label] = (res.eps, acc)
            sweeps.append({"attack": name, "norm": norm, "description": description, "eps": res.eps,
                           "robust_accuracy": acc, "attacked": res.attacked,
                           "seconds": time.perf_counter() - s0, "_res": res})
            log(f"{name} {norm}: " + ", ".join(f"ε={e:g}: {a:.3f}" for e, a in zip(res.eps, acc)))
            if name == "pgd" and norm == cfg.norms[0]:
                grid_source = res

    minimal = {}
    if any(a in MINIMAL_ATTACKS for a in cfg.attacks):
        idx = clean.nonzero().squeeze(1)[: cfg.num_minimal]
        xm, ym = x[idx], y[idx]
        for name in [a for a in cfg.attacks if a in MINIMAL_ATTACKS]:
            s0 = time.perf_counter()
            fn = zoo.lbfgs if name == "lbfgs" else zoo.cw_l2
            r = fn(model, xm, ym)
            summary = distortion_summary(r.distance, r.success)
            summary.update(examples=int(len(idx)), seconds=time.perf_counter() - s0)
            minimal[name] = summary
            if "l2" in curves:
                grid = curves["l2"]
                eps_l2 = sorted({e for v in grid.values() for e in v[0]}) or DEFAULT_EPS["l2"]
                dense = torch.linspace(0, max(eps_l2), 41).tolist()
                curve = distortion_curve(r.distance, r.success, torch.ones_like(r.success), dense)
                # scale by clean accuracy: the minimal-distortion points are the correctly classified ones
                acc0 = float(clean.float().mean())
                curves["l2"][f"{name.upper()} min-distortion"] = (dense, [acc0 * c for c in curve])
            log(f"{name}: success {summary['success_rate']:.3f}, median L2 {summary['median']:.3f}")

    per_class = None
    if sweeps:
        first = next((s for s in sweeps if s["attack"] == "pgd"), sweeps[0])
        res = first["_res"]
        k = min(range(len(res.eps)), key=lambda i: abs(res.accuracy()[i] - 0.5 * float(clean.float().mean())))
        per_class = {"attack": first["attack"], "norm": first["norm"], "eps": res.eps[k], "classes": classes,
                     "clean": per_class_accuracy(clean, y, len(classes)),
                     "robust": per_class_accuracy(res.robust[k], y, len(classes))}

    suites = []
    if cfg.suite is not None:
        settings = SuiteSettings(steps=cfg.suite_steps, queries=cfg.suite_queries, seed=cfg.seed,
                                 batch_size=cfg.batch_size, progress=False)
        for norm in cfg.norms:
            eps = cfg.suite_eps_linf if norm == "linf" else cfg.suite_eps_l2
            s0 = time.perf_counter()
            r = run_suite(model, x, y, eps, norm, cfg.suite, settings)
            suites.append({"suite": cfg.suite, "norm": norm, "eps": eps, "robust_accuracy": r.robust_accuracy,
                           "attacks": r.rows, "seconds": time.perf_counter() - s0})
            log(f"suite {cfg.suite} {norm} ε={eps:g}: robust accuracy {r.robust_accuracy:.3f} "
                + ", ".join(f"{row['attack']} broke {row['broken']}" for row in r.rows))

    checks = []
    if cfg.checks:
        xc, yc = x[: cfg.check_examples], y[: cfg.check_examples]
        checks += checks_to_json(model_checks(model, xc, yc))
        for norm in cfg.norms:
            eps = (cfg.eps_linf if norm == "linf" else cfg.eps_l2) or DEFAULT_EPS[norm]
            checks += checks_to_json(attack_checks(model, xc, yc, norm, eps, steps=cfg.steps, seed=cfg.seed), norm)
        bad = [c for c in checks if not c["passed"]]
        log(f"self-checks: {len(checks) - len(bad)} of {len(checks)} passed"
            + "".join(f"\n  FAILED {c['name']} ({c['norm'] or 'model'}): {c['detail']}" for c in bad))

    figures = {}
    if curves:
        figures["robust accuracy vs ε"] = plot_accuracy_curves(
            curves, out / "robust_accuracy.png", f"{ckpt.name} on {info.name}").name
    if grid_source is not None and grid_source.adversarial:
        e = next((e for e in grid_source.eps if e in grid_source.adversarial and len(grid_source.broken_index[e]) >= 4),
                 next(iter(grid_source.adversarial)))
        bi, xa = grid_source.broken_index[e][:10], grid_source.adversarial[e][:10]
        adv_pred = predict(model, xa, cfg.batch_size)
        figures["adversarial examples"] = plot_adversarial_grid(
            x[bi], xa, [classes[int(c)] for c in y[bi]], [classes[int(c)] for c in adv_pred],
            out / "adversarial_examples.png", f"PGD {grid_source.norm}, ε = {e:g}").name

    report = {
        "model": {"name": ckpt.name, "path": str(ckpt), "fingerprint": model_fingerprint(model)},
        "data": {"dataset": info.name, "source": info.source, "examples": int(len(y)), "classes": classes},
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in cfg.__dict__.items()},
        "clean_accuracy": float(clean.float().mean()),
        "sweeps": [{k: v for k, v in s.items() if k != "_res"} for s in sweeps],
        "minimal": minimal,
        "per_class": per_class,
        "suites": suites,
        "checks": checks,
        "seeds": {"seed": cfg.seed, "torch_initial_seed": cfg.seed,
                  "attacks": "every random start and Square draw comes from torch.Generator seeded with seed"},
        "figures": figures,
        "seconds": time.perf_counter() - t0,
    }
    (out / "report.json").write_text(json.dumps(report, indent=2))
    (out / "report.md").write_text(evaluation_markdown(report))
    report["summary_text"] = _summary(report, out)
    return report


def _summary(report: Dict[str, Any], out: Path) -> str:
    lines = [f"clean accuracy: {100 * report['clean_accuracy']:.1f}%"]
    for s in report["sweeps"]:
        pairs = ", ".join(f"{e:g}→{100 * a:.1f}%" for e, a in zip(s["eps"], s["robust_accuracy"]))
        lines.append(f"{s['attack'].upper():5s} {s['norm']:4s}: {pairs}")
    for name, v in report["minimal"].items():
        lines.append(f"{name.upper():5s} L2  : success {100 * v['success_rate']:.1f}%, median ‖δ‖₂ = {v['median']:.3f}")
    for s in report.get("suites", []):
        lines.append(f"{s['suite']} suite {s['norm']} ε={s['eps']:g}: robust accuracy {100 * s['robust_accuracy']:.1f}%")
    bad = [c for c in report.get("checks", []) if not c["passed"]]
    if report.get("checks"):
        lines.append(f"self-checks: {len(report['checks']) - len(bad)}/{len(report['checks'])} passed"
                     + "".join(f"; FAILED: {c['name']}" for c in bad))
    lines.append(f"report: {out / 'report.md'} (and report.json, figures) in {report['seconds']:.0f} s")
    return "\n".join(lines)
