"""``robustgan evaluate``: clean and robust accuracy, ε sweeps, the security curve, a report.

Phases, in order: clean accuracy → fixed-ε sweeps → minimal-norm attacks and their envelope, per
norm → self-checks → the standard suite on any threat whose gradient checks failed (unless told
not to) → the headline: per norm and ε, the lowest robust accuracy any attack reached.

Each phase is cut into work units (:mod:`robustgan.units`) that rank 0 saves as they finish, and each phase
brings report.json, report.md and the figures up to date when it ends: a stopped run leaves all it
finished, and ``resume`` continues it to the report an uninterrupted run writes. Under ``torchrun``
every process takes its share of the units; rank 0 alone writes.
"""
from __future__ import annotations

import json
import time
from itertools import zip_longest
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch

from ..data import load_dataset, take
from ..devices import resolve_device
from ..distributed import DistContext, setup
from ..models import load_classifier, load_model, load_robustbench, model_fingerprint, robustbench_path
from ..models.default import DEFAULT_COMMAND, default_checkpoint_path
from .robustbench_json import robustbench_entries
from ..report import evaluation_markdown, plot_accuracy_curves, plot_adversarial_grid, write_html
from ..optim import loop_options
from ..runs import LOCK_NAME, RunRefused, atomic_write_json, atomic_write_text, check_resume, claim, run_identity, run_lock
from .checks import attack_check_thunks, check_envelope_bounds_sweeps, checks_to_json, masked_norms, model_checks
from .registry import NORMS, attacks_for, check_attacks, sweep_attack
from .security import assemble_curve, run_minimal
from .suite import SUITES, SuiteResult, SuiteSettings, merge_suites, run_suite
from .sweep import assemble_sweep, per_class_accuracy, predict, sweep_slice
from ..units import UnitStore, Units, split, unit_seed
from ..validation import check_model_fits_data
from .verdict import headline

DEFAULT_EPS = {"linf": [0.01, 0.02, 0.05, 0.1, 0.15, 0.2], "l2": [0.25, 0.5, 1.0, 1.5, 2.0, 3.0],
               "l1": [1.0, 2.5, 5.0, 10.0, 15.0, 20.0], "l0": [1.0, 2.0, 5.0, 10.0, 20.0, 50.0]}
DEFAULT_ATTACKS = ["fgsm", "pgd", "deepfool", "fmn", "ddn", "cw", "lbfgs"]
SUITE_NORMS = ("linf", "l2", "l1")
STATE = "state"  # the run folder's sub-folder of finished work units and the run's identity
RESULT_FILES = ("report.json", "report.md", "report.html", "robustbench.json", "robust_accuracy.png", "adversarial_examples.png", STATE)


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
    device: str = "auto"  # auto: CUDA when available, else the CPU
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
    resume: bool = False  # continue the run in ``out``: finished phases and units are loaded, not redone
    force: bool = False  # replace the results ``out`` holds
    amp: Optional[str] = None  # run the model under autocast: "bf16" or "fp16"
    compile: bool = False  # run the model through torch.compile
    sync_every: Optional[int] = None  # masked rows, an early-end check every k steps (see LoopOptions)
    robustbench: Optional[str] = None  # a RobustBench model name, read from model_dir's layout (never downloaded)
    model_dir: Optional[Path] = None  # RobustBench's models folder (default ./models, as RobustBench)
    robustbench_dataset: str = "cifar10"
    robustbench_threat: str = "Linf"


def _check(cfg: EvaluateConfig) -> None:
    check_attacks(cfg.attacks)
    if cfg.arch is None and (cfg.mean is not None or cfg.std is not None):  # else silently ignored
        raise ValueError("--mean/--std set the normalisation of a plain state dict: give them with --arch "
                         "(a robustgan checkpoint or TorchScript file carries its own)")
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


def _load(cfg: EvaluateConfig, device: str):
    if cfg.robustbench is not None:
        if cfg.checkpoint is not None:
            raise ValueError("give --model or --robustbench, not both")
        kwargs = {"in_channels": cfg.in_channels, "num_classes": cfg.num_classes} if cfg.arch else {}
        model = load_robustbench(cfg.robustbench, cfg.model_dir or Path("models"), cfg.robustbench_dataset,
                                 cfg.robustbench_threat, cfg.arch, device, cfg.mean, cfg.std, **kwargs)
        return model, robustbench_path(cfg.robustbench, cfg.model_dir or Path("models"), cfg.robustbench_dataset,
                                       cfg.robustbench_threat)
    ckpt = Path(cfg.checkpoint) if cfg.checkpoint else default_checkpoint_path()
    if cfg.checkpoint is None and not ckpt.exists():
        raise FileNotFoundError(f"the default model is missing from the package; create it with: {DEFAULT_COMMAND}")
    if cfg.arch is not None or cfg.checkpoint is not None:
        model = load_model(cfg.checkpoint, cfg.arch, device, cfg.mean, cfg.std,
                           **({"in_channels": cfg.in_channels, "num_classes": cfg.num_classes} if cfg.arch else {}))
    else:
        model = load_classifier(ckpt, device)
    return model, ckpt


def identity_settings(cfg: EvaluateConfig, model_fp: str, data_source: str) -> Dict[str, Any]:
    """Every setting that changes the numbers (not where they go, how loudly, or on which device)."""
    skip = {"out", "progress", "device", "resume", "force", "compile", "sync_every"}  # the last two: same decisions
    if cfg.robustbench is None:  # the model is named by its fingerprint; RobustBench's keys only where used
        skip |= {"robustbench", "model_dir", "robustbench_dataset", "robustbench_threat"}
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in cfg.__dict__.items() if k not in skip}
    return dict(settings, model_fingerprint=model_fp, data_source=data_source)


class Evaluation:
    """One evaluation run: its phases, cut into :mod:`units`, and the report they fill in."""

    def __init__(self, cfg: EvaluateConfig, ctx: DistContext, device: str):
        self.cfg, self.ctx, self.device = cfg, ctx, device
        self.out = Path(cfg.out)
        self.t0 = time.perf_counter()
        self.log = (lambda s: print(s, flush=True)) if (cfg.progress and ctx.is_main) else (lambda s: None)
        self.phases: List[str] = []
        self.phase_seconds: Dict[str, float] = {}  # wall time of each phase in this run (0-ish when loaded)
        self._phase_start = self.t0
        self._drawn, self._figures = None, {}  # what the figures on disk show
        self.sweeps: List[Dict[str, Any]] = []
        self.minimal: Dict[str, Any] = {}
        self.curves: Dict[str, Dict] = {}
        self.envelopes: Dict[str, Any] = {}
        self.security: Dict[str, Any] = {}
        self.suites: List[Dict[str, Any]] = []
        self.checks: List[Dict[str, Any]] = []

    # ---- set-up -------------------------------------------------------------------------------
    def open(self) -> None:
        cfg = self.cfg
        torch.manual_seed(cfg.seed)
        self.model, self.ckpt = _load(cfg, self.device)
        dataset, self.info = load_dataset(cfg.dataset, "test", cfg.data_dir)
        x, y = take(dataset, cfg.num_examples)
        self.x, self.y = x.to(self.device), y.to(self.device)
        check_model_fits_data(self.model, self.x, len(self.info.classes), self.info.name)  # before any attack
        self.classes = list(self.info.classes)
        self.fingerprint = model_fingerprint(self.model)
        settings = identity_settings(cfg, self.fingerprint, self.info.source)
        error = None
        if self.ctx.is_main:  # rank 0 alone decides about the folder; every rank learns the outcome
            try:
                if self.out.exists() and not self.out.is_dir():
                    raise RunRefused(f"--out {self.out} is a file, not a folder")
                self._stack.enter_context(run_lock(self.out / LOCK_NAME))
                self._claim(settings)
            except (RunRefused, OSError) as exc:
                error = str(exc)
        error = self.ctx.broadcast(error)
        if error:
            raise RunRefused(error)
        self.units = Units(UnitStore(self.out / STATE if self.ctx.is_main else None), self.ctx, cfg.progress,
                           self.log)

    def _claim(self, settings: Dict[str, Any]) -> None:
        results = [self.out / f for f in RESULT_FILES]
        resumed = claim(self.out, results, resume=self.cfg.resume, force=self.cfg.force)
        identity_file = self.out / STATE / "identity.json"
        if resumed:
            recorded = json.loads(identity_file.read_text()) if identity_file.exists() else None
            check_resume(recorded, settings, self.out)
            self.log(f"resuming the run in {self.out}")
        atomic_write_json(run_identity(settings), identity_file)

    # ---- phases -------------------------------------------------------------------------------
    def run_clean(self) -> None:
        cuts = split(len(self.y), self.cfg.batch_size)
        parts = self.units.map("clean", len(cuts), lambda i: {"pred": predict(
            self.model, self.x[cuts[i]], self.cfg.batch_size)}, "clean accuracy")
        self.pred = torch.cat([p["pred"] for p in parts]).to(self.device) if parts else self.y[:0]
        self.clean = self.pred == self.y
        self.log(f"clean accuracy {self.clean.float().mean():.3f} on {len(self.y)} {self.info.name} "
                 f"examples ({self.info.source})")
        self._done("clean")

    def run_sweeps(self) -> None:
        cfg = self.cfg
        cuts = split(len(self.y), cfg.batch_size)
        for norm in cfg.norms:
            eps = _eps(cfg, norm)
            for name in attacks_for(cfg.attacks, "sweep", norm):
                phase = f"sweep/{name}/{norm}"
                description = sweep_attack(name, norm, cfg.steps, cfg.restarts, cfg.seed)[1]

                def unit(i: int, name=name, norm=norm, eps=eps, phase=phase) -> Dict[str, Any]:
                    attack = sweep_attack(name, norm, cfg.steps, cfg.restarts, unit_seed(cfg.seed, phase, i))[0]
                    t = time.perf_counter()
                    c = cuts[i]
                    out = sweep_slice(self.model, self.x[c], self.y[c], self.clean[c], eps, attack)
                    return dict(out, seconds=time.perf_counter() - t)

                parts = self.units.map(phase, len(cuts), unit, f"{name} {norm} sweep")
                res = assemble_sweep(norm, eps, self.clean.cpu(), parts, [c.start for c in cuts])
                acc = res.accuracy()
                self.sweeps.append({"attack": name, "norm": norm, "description": description, "eps": res.eps,
                                    "robust_accuracy": acc, "attacked": res.attacked,
                                    "seconds": float(sum(p["seconds"] for p in parts)), "_res": res})
                self.curves.setdefault(norm, {})[f"{name.upper()} (sweep)"] = (res.eps, acc)
                self.log(f"{name} {norm}: " + ", ".join(f"ε={e:g}: {a:.3f}" for e, a in zip(res.eps, acc)))
                self._done(phase)

    def run_minimal(self) -> None:
        """Per norm: the security curve of every minimal-norm attack asked for, and the curves to draw."""
        cfg = self.cfg
        idx = self.clean.nonzero().squeeze(1)[: cfg.num_minimal]
        acc0 = float(self.clean.float().mean())
        cuts = split(int(idx.numel()), cfg.batch_size)
        for norm in cfg.norms:
            eps = _eps(cfg, norm)
            names = attacks_for(cfg.attacks, "minimal", norm)
            if not names or idx.numel() == 0:
                continue
            parts = {}
            for name in names:
                phase = f"minimal/{norm}/{name}"

                def unit(i: int, name=name, norm=norm) -> Dict[str, Any]:
                    rows = idx[cuts[i]]
                    return run_minimal(self.model, self.x[rows], self.y[rows], name, norm, cfg.minimal_queries)

                parts[name] = self.units.map(phase, len(cuts), unit, f"{name} {norm} minimal-norm")
            sc = assemble_curve(norm, idx.cpu(), parts, max(eps), self.log)
            dense = torch.linspace(0, max(eps), 41).tolist()
            for name, d in sc.distances.items():
                self.curves.setdefault(norm, {})[f"{name.upper()} (min-norm)"] = (dense, sc.curve(d, dense, acc0))
            self.curves[norm]["envelope"] = (dense, sc.curve(sc.best, dense, acc0))
            best = sc.best
            self.envelopes[norm] = (eps, lambda e, best=best: acc0 * float((best > e).float().mean()))
            self.minimal[norm] = {"examples": int(idx.numel()), "eps_max": max(eps), "attacks": sc.rows,
                                  "curve": {"eps": dense, "envelope": self.curves[norm]["envelope"][1]}}
            self.security[norm] = sc
            self.log(f"envelope {norm}: median {sc.rows['envelope']['median']:.4g}, "
                     + ", ".join(f"{n} optimality {r['optimality']:.3f}" for n, r in sc.rows.items() if n != "envelope"))
            self._done(f"minimal/{norm}")

    def run_suite(self, norm: str, suite: str, escalated: bool) -> None:
        cfg = self.cfg
        eps = _suite_eps(cfg, norm)
        phase = f"suite/{suite}/{norm}"
        cuts = split(len(self.y), cfg.batch_size)

        def unit(i: int) -> Dict[str, Any]:
            settings = SuiteSettings(steps=cfg.suite_steps, queries=cfg.suite_queries,
                                     seed=unit_seed(cfg.seed, phase, i), batch_size=cfg.batch_size)
            r = run_suite(self.model, self.x[cuts[i]], self.y[cuts[i]], eps, norm, suite, settings)
            return {"clean": r.clean, "robust": r.robust, "x_adv": r.x_adv, "rows": r.rows}

        parts = self.units.map(phase, len(cuts), unit, f"{suite} suite {norm} ε={eps:g}")
        r = merge_suites([SuiteResult(suite, norm, float(eps), p["clean"], p["robust"], p["x_adv"], p["rows"])
                          for p in parts])
        self.log(f"suite {suite} {norm} ε={eps:g}{' (escalated)' if escalated else ''}: robust accuracy "
                 f"{r.robust_accuracy:.3f} " + ", ".join(f"{row['attack']} broke {row['broken']}" for row in r.rows))
        self.suites.append({"suite": suite, "norm": norm, "eps": eps, "robust_accuracy": r.robust_accuracy,
                            "attacks": r.rows, "seconds": float(sum(row["seconds"] for row in r.rows)),
                            "escalated": escalated})
        self._done(phase)

    def run_checks(self) -> None:
        cfg = self.cfg
        xc, yc = self.x[: cfg.check_examples], self.y[: cfg.check_examples]
        per_norm = [[(norm, (lambda run=run: [run()])) for run in
                     attack_check_thunks(self.model, xc, yc, norm, _eps(cfg, norm), steps=cfg.steps, seed=cfg.seed)]
                    for norm in cfg.norms if norm in ("linf", "l2")]  # the checks' PGD and Square cover these
        # the same check of each norm side by side: units of a round cost about the same
        thunks = [t for same_check in zip_longest(*per_norm) for t in same_check if t is not None]
        thunks.append((None, lambda: model_checks(self.model, xc, yc)))
        parts = self.units.map("checks", len(thunks), lambda i: {"checks": checks_to_json(thunks[i][1](), thunks[i][0])},
                               "self-checks")
        checks = [c for p in parts for c in p["checks"]]
        for norm in cfg.norms:
            own = [s for s in self.sweeps if s["norm"] == norm]
            if norm in self.security and own:
                sc = self.security[norm]
                checks += checks_to_json([check_envelope_bounds_sweeps(norm, sc.best, sc.index, own)], norm)
        self.checks = checks
        bad = [c for c in checks if not c["passed"]]
        self.log(f"self-checks: {len(checks) - len(bad)} of {len(checks)} passed"
                 + "".join(f"\n  FAILED {c['name']} ({c['norm'] or 'model'}): {c['detail']}" for c in bad))
        self._done("checks")

    def run(self) -> Dict[str, Any]:
        cfg = self.cfg
        with ExitStack() as self._stack:  # holds the run folder's lock on rank 0 until the end
            self.open()
            self._phase_start = time.perf_counter()
            self.run_clean()
            self.run_sweeps()
            self.run_minimal()
            if cfg.suite is not None:
                for norm in cfg.norms:
                    if norm in SUITE_NORMS:
                        self.run_suite(norm, cfg.suite, False)
            if cfg.checks:
                self.run_checks()
                if cfg.escalate and cfg.suite != "standard":
                    for norm in masked_norms(self.checks, [n for n in cfg.norms if n in SUITE_NORMS]):
                        self.log(f"gradient-masking checks failed for {norm}: running the standard suite "
                                 "(Square included)")
                        self.run_suite(norm, "standard", True)
            report = self.write(complete=True)
        report["summary_text"] = _summary(report, self.out)
        return report

    # ---- the report ---------------------------------------------------------------------------
    def _done(self, phase: str) -> None:
        """A phase ended: bring the run folder's report up to date with it."""
        now = time.perf_counter()
        self.phases.append(phase)
        self.phase_seconds[phase] = now - self._phase_start
        self._phase_start = now
        self.write(complete=False)

    def report(self, complete: bool) -> Dict[str, Any]:
        cfg = self.cfg
        sweeps_json = [{k: v for k, v in s.items() if k != "_res"} for s in self.sweeps]
        return {
            "complete": complete,
            "phases": list(self.phases),
            "phase_seconds": dict(self.phase_seconds),
            "model": {"name": self.ckpt.name, "path": str(self.ckpt), "fingerprint": self.fingerprint},
            "data": {"dataset": self.info.name, "source": self.info.source, "examples": int(len(self.y)),
                     "classes": self.classes},
            "config": dict({k: (str(v) if isinstance(v, Path) else v) for k, v in cfg.__dict__.items()},
                           device=self.device),
            "processes": self.ctx.world,
            "clean_accuracy": float(self.clean.float().mean()),
            "headline": headline(sweeps_json, self.suites, self.envelopes),
            "sweeps": sweeps_json,
            "minimal": self.minimal,
            "per_class": _per_class(self.sweeps, self.clean.cpu(), self.y.cpu(), self.classes),
            "suites": self.suites,
            "checks": self.checks,
            "seeds": {"seed": cfg.seed, "torch_initial_seed": cfg.seed,
                      "attacks": "every random start and Square draw comes from a torch.Generator seeded from "
                                 "(seed, phase, unit), so any split over processes or resumed runs draws the same"},
            "figures": {},
            "seconds": time.perf_counter() - self.t0,
        }

    def write(self, complete: bool) -> Dict[str, Any]:
        report = self.report(complete)
        if self.ctx.is_main:
            drawn = (tuple((n, tuple(c)) for n, c in self.curves.items()), len(self.sweeps), tuple(self.security))
            if drawn != self._drawn:  # redraw only when a phase changed what the figures show
                self._figures = _figures(self.cfg, self.model, self.x, self.y, self.classes, self.out, self.ckpt.name,
                                         self.info.name, self.curves, self.sweeps, self.security)
                self._drawn = drawn
            report["figures"] = dict(self._figures)
            atomic_write_json(report, self.out / "report.json")
            text = evaluation_markdown(report)
            atomic_write_text(text, self.out / "report.md")
            write_html(self.out / "report.html", f"Robustness report: {report['model']['name']}", text)
            atomic_write_json(robustbench_entries(report), self.out / "robustbench.json")
        return report


def evaluate_job(cfg: EvaluateConfig) -> Dict[str, Any]:
    """Run an evaluation (on every process of a ``torchrun`` launch, each taking its share)."""
    _check(cfg)
    device = resolve_device(cfg.device)
    ctx = setup(device)
    try:
        with loop_options(amp=cfg.amp, compile=cfg.compile, sync_every=cfg.sync_every):
            return Evaluation(cfg, ctx, ctx.device).run()
    finally:
        ctx.close()


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
