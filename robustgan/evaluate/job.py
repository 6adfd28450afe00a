"""``robustgan evaluate``: clean and robust accuracy, ε sweeps, the security curve, a report.

Phases, in order: clean accuracy → fixed-ε sweeps → minimal-norm attacks and their envelope, per
norm → self-checks → the standard suite on any threat whose gradient checks failed (unless told
not to) → the headline: per norm and ε, the lowest robust accuracy any attack reached.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch

from ..data import load_dataset, take
from ..models import load_classifier, load_model, model_fingerprint
from ..models.default import DEFAULT_COMMAND, default_checkpoint_path
from ..report import evaluation_markdown, plot_accuracy_curves, plot_adversarial_grid
from .checks import attack_checks, check_envelope_bounds_sweeps, checks_to_json, masked_norms, model_checks
from .registry import NORMS, attacks_for, check_attacks, sweep_attack
from .security import security_curve
from .suite import SUITES, SuiteSettings, run_suite
from .sweep import per_class_accuracy, predict, robustness_sweep
from .verdict import headline

DEFAULT_EPS = {"linf": [0.01, 0.02, 0.05, 0.1, 0.15, 0.2], "l2": [0.25, 0.5, 1.0, 1.5, 2.0, 3.0],
               "l1": [1.0, 2.5, 5.0, 10.0, 15.0, 20.0], "l0": [1.0, 2.0, 5.0, 10.0, 20.0, 50.0]}
DEFAULT_ATTACKS = ["fgsm", "pgd", "deepfool", "fmn", "ddn", "cw", "lbfgs"]
SUITE_NORMS = ("linf", "l2", "l1")


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
    attacks: List[str] = field(default_factory=lambda: list(DEFAULT_ATTACKS))
    norms: List[str] = field(default_factory=lambda: ["linf", "l2"])
    eps_linf: Optional[List[float]] = None
    eps_l2: Optional[List[float]] = None
    eps_l1: Optional[List[float]] = None
    eps_l0: Optional[List[float]] = None
    steps: int = 20
    restarts: int = 1
    num_examples: int = 1000
    num_minimal: int = 100
    minimal_queries: Optional[int] = None  # per-sample budget of every minimal-norm attack (None: their own)
    batch_size: int = 500
    device: str = "cpu"
    seed: int = 0
    out: Path = Path("robustgan-report")
    progress: bool = True
    suite: Optional[str] = None  # None, "quick" or "standard" (AutoAttack's line-up)
    suite_eps_linf: float = 0.1
    suite_eps_l2: float = 1.5
    suite_eps_l1: float = 10.0
    suite_steps: int = 100
    suite_queries: int = 5000
    checks: bool = True
    check_examples: int = 100
    escalate: bool = True  # run the standard suite on a threat whose gradient-masking checks fail


def _check(cfg: EvaluateConfig) -> None:
    check_attacks(cfg.attacks)
    bad = [n for n in cfg.norms if n not in NORMS]
    if bad:
        raise ValueError(f"unknown norm(s) {bad}; choose from {', '.join(NORMS)}")
    if cfg.suite is not None and cfg.suite not in SUITES:
        raise ValueError(f"unknown suite {cfg.suite!r}; choose from {sorted(SUITES)}")
    for name in ("num_examples", "batch_size", "steps", "restarts", "suite_steps", "suite_queries", "check_examples"):
        if getattr(cfg, name) < 1:
            raise ValueError(f"{name} must be >= 1, got {getattr(cfg, name)}")
    if cfg.num_minimal < 0:
        raise ValueError(f"num_minimal must be >= 0, got {cfg.num_minimal}")
    if cfg.minimal_queries is not None and cfg.minimal_queries < 1:
        raise ValueError(f"minimal_queries must be >= 1, got {cfg.minimal_queries}")
    for norm in NORMS:
        values = getattr(cfg, f"eps_{norm}") or []
        if any(e < 0 for e in values):
            raise ValueError(f"eps_{norm}: every ε must be >= 0, got {values}")


def _eps(cfg: EvaluateConfig, norm: str) -> List[float]:
    return sorted(getattr(cfg, f"eps_{norm}") or DEFAULT_EPS[norm])


def _suite_eps(cfg: EvaluateConfig, norm: str) -> float:
    return getattr(cfg, f"suite_eps_{norm}")


def _load(cfg: EvaluateConfig):
    ckpt = Path(cfg.checkpoint) if cfg.checkpoint else default_checkpoint_path()
    if cfg.checkpoint is None and not ckpt.exists():
        raise FileNotFoundError(f"the default model is missing from the package; create it with: {DEFAULT_COMMAND}")
    if cfg.arch is not None or cfg.checkpoint is not None:
        model = load_model(cfg.checkpoint, cfg.arch, cfg.device, cfg.mean, cfg.std,
                           **({"in_channels": cfg.in_channels, "num_classes": cfg.num_classes} if cfg.arch else {}))
    else:
        model = load_classifier(ckpt, cfg.device)
    return model, ckpt


def _sweeps(cfg, model, x, y, clean, log) -> List[Dict[str, Any]]:
    sweeps = []
    for norm in cfg.norms:
        for name in attacks_for(cfg.attacks, "sweep", norm):
            attack, description = sweep_attack(name, norm, cfg.steps, cfg.restarts, cfg.seed)
            s0 = time.perf_counter()
            res = robustness_sweep(model, x, y, _eps(cfg, norm), attack, norm, cfg.batch_size, clean,
                                   progress=cfg.progress, desc=f"{name} {norm} sweep")
            acc = res.accuracy()
            sweeps.append({"attack": name, "norm": norm, "description": description, "eps": res.eps,
                           "robust_accuracy": acc, "attacked": res.attacked,
                           "seconds": time.perf_counter() - s0, "_res": res})
            log(f"{name} {norm}: " + ", ".join(f"ε={e:g}: {a:.3f}" for e, a in zip(res.eps, acc)))
    return sweeps


def _minimal(cfg, model, x, y, clean, sweeps, log):
    """Per norm: the security curve of every minimal-norm attack asked for, and the curves to draw."""
    idx = clean.nonzero().squeeze(1)[: cfg.num_minimal]
    acc0 = float(clean.float().mean())
    minimal, curves, envelopes, curve_objects = {}, {}, {}, {}
    for norm in cfg.norms:
        eps = _eps(cfg, norm)
        curves[norm] = {f"{s['attack'].upper()} (sweep)": (s["eps"], s["robust_accuracy"])
                        for s in sweeps if s["norm"] == norm}
        names = attacks_for(cfg.attacks, "minimal", norm)
        if not names or idx.numel() == 0:
            continue
        sc = security_curve(model, x, y, idx, norm, names, cfg.minimal_queries, max(eps), cfg.batch_size,
                            progress=cfg.progress, log=log)
        dense = torch.linspace(0, max(eps), 41).tolist()
        for name, d in sc.distances.items():
            curves[norm][f"{name.upper()} (min-norm)"] = (dense, sc.curve(d, dense, acc0))
        curves[norm]["envelope"] = (dense, sc.curve(sc.best, dense, acc0))
        best = sc.best
        envelopes[norm] = (eps, lambda e, best=best: acc0 * float((best > e).float().mean()))
        minimal[norm] = {"examples": int(idx.numel()), "eps_max": max(eps), "attacks": sc.rows,
                         "curve": {"eps": dense, "envelope": curves[norm]["envelope"][1]}}
        curve_objects[norm] = sc
        log(f"envelope {norm}: median {sc.rows['envelope']['median']:.4g}, "
            + ", ".join(f"{n} optimality {r['optimality']:.3f}" for n, r in sc.rows.items() if n != "envelope"))
    return minimal, curves, envelopes, curve_objects


def _suite(cfg, model, x, y, norm: str, suite: str, escalated: bool, log) -> Dict[str, Any]:
    settings = SuiteSettings(steps=cfg.suite_steps, queries=cfg.suite_queries, seed=cfg.seed,
                             batch_size=cfg.batch_size, progress=cfg.progress)
    eps = _suite_eps(cfg, norm)
    s0 = time.perf_counter()
    r = run_suite(model, x, y, eps, norm, suite, settings)
    log(f"suite {suite} {norm} ε={eps:g}{' (escalated)' if escalated else ''}: robust accuracy "
        f"{r.robust_accuracy:.3f} " + ", ".join(f"{row['attack']} broke {row['broken']}" for row in r.rows))
    return {"suite": suite, "norm": norm, "eps": eps, "robust_accuracy": r.robust_accuracy, "attacks": r.rows,
            "seconds": time.perf_counter() - s0, "escalated": escalated}


def evaluate_job(cfg: EvaluateConfig) -> Dict[str, Any]:
    _check(cfg)
    t0 = time.perf_counter()
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    model, ckpt = _load(cfg)
    dataset, info = load_dataset(cfg.dataset, "test", cfg.data_dir)
    x, y = take(dataset, cfg.num_examples)
    x, y = x.to(cfg.device), y.to(cfg.device)
    clean = predict(model, x, cfg.batch_size) == y
    classes = list(info.classes)
    log = (lambda s: print(s, flush=True)) if cfg.progress else (lambda s: None)
    log(f"clean accuracy {clean.float().mean():.3f} on {len(y)} {info.name} examples ({info.source})")

    sweeps = _sweeps(cfg, model, x, y, clean, log)
    minimal, curves, envelopes, security = _minimal(cfg, model, x, y, clean, sweeps, log)

    suites = []
    if cfg.suite is not None:
        suites += [_suite(cfg, model, x, y, norm, cfg.suite, False, log) for norm in cfg.norms if norm in SUITE_NORMS]

    checks = []
    if cfg.checks:
        xc, yc = x[: cfg.check_examples], y[: cfg.check_examples]
        checks += checks_to_json(model_checks(model, xc, yc))
        for norm in cfg.norms:
            if norm in ("linf", "l2"):  # the checks' PGD and Square attacks cover these threats
                checks += checks_to_json(attack_checks(model, xc, yc, norm, _eps(cfg, norm), steps=cfg.steps,
                                                       seed=cfg.seed), norm)
            if norm in security:
                own = [s for s in sweeps if s["norm"] == norm]
                if own:
                    sc = security[norm]
                    checks += checks_to_json([check_envelope_bounds_sweeps(norm, sc.best, sc.index, own)], norm)
        bad = [c for c in checks if not c["passed"]]
        log(f"self-checks: {len(checks) - len(bad)} of {len(checks)} passed"
            + "".join(f"\n  FAILED {c['name']} ({c['norm'] or 'model'}): {c['detail']}" for c in bad))
        if cfg.escalate and cfg.suite != "standard":
            for norm in masked_norms(checks, [n for n in cfg.norms if n in SUITE_NORMS]):
                log(f"gradient-masking checks failed for {norm}: running the standard suite (Square included)")
                suites.append(_suite(cfg, model, x, y, norm, "standard", True, log))

    sweeps_json = [{k: v for k, v in s.items() if k != "_res"} for s in sweeps]
    verdict = headline(sweeps_json, suites, envelopes)
    figures = _figures(cfg, model, x, y, classes, out, ckpt.name, info.name, curves, sweeps, security)
    per_class = _per_class(sweeps, clean, y, classes)

    report = {
        "model": {"name": ckpt.name, "path": str(ckpt), "fingerprint": model_fingerprint(model)},
        "data": {"dataset": info.name, "source": info.source, "examples": int(len(y)), "classes": classes},
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in cfg.__dict__.items()},
        "clean_accuracy": float(clean.float().mean()),
        "headline": verdict,
        "sweeps": sweeps_json,
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


def _per_class(sweeps, clean, y, classes):
    if not sweeps:
        return None
    first = next((s for s in sweeps if s["attack"] == "pgd"), sweeps[0])
    res = first["_res"]
    k = min(range(len(res.eps)), key=lambda i: abs(res.accuracy()[i] - 0.5 * float(clean.float().mean())))
    return {"attack": first["attack"], "norm": first["norm"], "eps": res.eps[k], "classes": classes,
            "clean": per_class_accuracy(clean, y, len(classes)),
            "robust": per_class_accuracy(res.robust[k], y, len(classes))}


def _figures(cfg, model, x, y, classes, out, model_name, data_name, curves, sweeps, security) -> Dict[str, str]:
    figures = {}
    drawn = {n: c for n, c in curves.items() if c}
    if drawn:
        figures["robust accuracy vs ε"] = plot_accuracy_curves(
            drawn, out / "robust_accuracy.png", f"{model_name} on {data_name}").name
    source = next((s["_res"] for s in sweeps if s["attack"] == "pgd"), None)
    if source is not None and source.adversarial:
        e = next((e for e in source.eps if e in source.adversarial and len(source.broken_index[e]) >= 4),
                 next(iter(source.adversarial)))
        bi, xa = source.broken_index[e][:10], source.adversarial[e][:10]
        title = f"PGD {source.norm}, ε = {e:g}"
    elif security:
        sc = next(iter(security.values()))
        bi, xa = sc.index[:10], sc.adversarial[:10]
        title = f"minimal-norm envelope, {sc.norm}"
    else:
        return figures
    adv_pred = predict(model, xa, cfg.batch_size)
    figures["adversarial examples"] = plot_adversarial_grid(
        x[bi], xa, [classes[int(c)] for c in y[bi]], [classes[int(c)] for c in adv_pred],
        out / "adversarial_examples.png", title).name
    return figures


def _summary(report: Dict[str, Any], out: Path) -> str:
    lines = [f"clean accuracy: {100 * report['clean_accuracy']:.1f}%"]
    for s in report["sweeps"]:
        pairs = ", ".join(f"{e:g}→{100 * a:.1f}%" for e, a in zip(s["eps"], s["robust_accuracy"]))
        lines.append(f"{s['attack'].upper():5s} {s['norm']:4s}: {pairs}")
    for norm, block in report["minimal"].items():
        for name, v in block["attacks"].items():
            lines.append(f"{name.upper():8s} {norm:4s}: success {100 * v['success_rate']:.1f}%, "
                         f"median ‖δ‖ = {v['median']:.4g}, optimality {v.get('optimality', float('nan')):.3f}")
    for s in report.get("suites", []):
        lines.append(f"{s['suite']} suite {s['norm']} ε={s['eps']:g}{' (escalated)' if s.get('escalated') else ''}: "
                     f"robust accuracy {100 * s['robust_accuracy']:.1f}%")
    bad = [c for c in report.get("checks", []) if not c["passed"]]
    if report.get("checks"):
        lines.append(f"self-checks: {len(report['checks']) - len(bad)}/{len(report['checks'])} passed"
                     + "".join(f"; FAILED: {c['name']}" for c in bad))
    if report.get("headline"):
        lines.append("verdict (lowest over every attack): " + "; ".join(
            f"{h['norm']} {h['eps']:g}→{100 * h['robust_accuracy']:.1f}% ({h['attack']})" for h in report["headline"]))
    lines.append(f"report: {out / 'report.md'} (and report.json, figures) in {report['seconds']:.0f} s")
    return "\n".join(lines)
