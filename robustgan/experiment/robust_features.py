"""Ilyas et al. (2019) on Fashion-MNIST: what models learn from robust and from non-robust features.

Stages (each reused when an output recording exactly its identity exists, so a stopped run
continues where it stopped; the identity is a hash of every setting that changes the stage's
result, and a rerun with other settings computes the stages it changes into new files):

1. a standard and a robust (PGD-AT, L∞ or L2) model on the first ``train_images`` training images
   (or given checkpoints);
2. the crafted datasets from the first ``craft_count`` training images: D_R (robust model's
   features), D_NR (standard model's features), D_rand and D_det (targeted L2 PGD on the standard
   model, labelled with the target);
3. a fresh model trained with plain (non-adversarial) training on each, and on the same
   ``craft_count`` original images as the baseline;
4. standard accuracy and PGD robust accuracy under each threat (L∞ / L2 radius) of every model on
   the true test set, as Markdown and JSON.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

import torch
from torch.utils.data import Dataset

from ..data import load_dataset
from ..report import write_html
from ..features import CraftConfig, CraftedDataset, craft
from ..features.job import craft_header
from ..features.shards import MANIFEST, dataset_identity
from ..models import checkpoint_meta, load_classifier, model_fingerprint, safe_load, save_classifier
from ..runs import (LOCK_NAME, atomic_write_json, atomic_write_text, canonical, claim, keyed_destination, run_lock,
                    settings_hash)
from ..train import AdversarialConfig, TrainConfig, accuracy, train_classifier
from ..train.job import first, new_classifier, robust_accuracy
from ..validation import check_model_fits_data, check_positive_int
from .scales import Scale

DATASETS = ("robust", "nonrobust", "rand", "det")
ROWS = {
    "standard": ("D", "standard training on the training images (the standard model)"),
    "robust": ("D, PGD-AT", "adversarial training on the training images (the robust model)"),
    "baseline": ("D (crafted subset)", "standard training on the original images the datasets are crafted from"),
    "data-robust": ("D_R", "standard training on the robust model's features of each image"),
    "data-nonrobust": ("D_NR", "standard training on the standard model's features of each image"),
    "data-rand": ("D_rand", "standard training on x nudged toward a random class t, labelled t"),
    "data-det": ("D_det", "standard training on x nudged toward t = y + 1, labelled t"),
}


Threat = Tuple[str, float]  # (norm, radius): ("linf", 0.1), ("l2", 1.0)
T = TypeVar("T")
NORM_TITLES = {"linf": "L∞", "l2": "L2"}


def check_threats(threats: Sequence[Threat]) -> List[Threat]:
    """The threats as a list of (norm, radius) with duplicates dropped; a clear error on a bad one."""
    out: List[Threat] = []
    for t in threats:
        if not (isinstance(t, (tuple, list)) and len(t) == 2):
            raise ValueError(f"a threat is a (norm, radius) pair such as ('linf', 0.1), got {t!r}")
        norm, radius = t
        if norm not in NORM_TITLES:
            raise ValueError(f"threat norm must be one of {list(NORM_TITLES)}, got {norm!r}")
        if not (isinstance(radius, (int, float)) and 0 < float(radius) < float("inf")):
            raise ValueError(f"threat radius must be a finite number > 0, got {radius!r}")
        if (norm, float(radius)) not in out:
            out.append((norm, float(radius)))
    if not out:
        raise ValueError("give at least one threat (norm, radius) for the robust accuracy")
    return out


def threat_label(t: Threat) -> str:
    """The key of a threat in results.json: 'linf:0.1', 'l2:1'."""
    return f"{t[0]}:{t[1]:g}"


def threat_title(label: str) -> str:
    norm, radius = label.split(":")
    return f"{NORM_TITLES[norm]} ε={radius}"


def _log(msg: str, progress: bool) -> None:
    if progress:
        print(f"[robust-features] {msg}", flush=True)


def _recorded_stage(path: Path) -> Optional[str]:
    """The stage identity a model file (or its unfinished ``.train.pt``) records; None when neither exists."""
    if path.exists():
        return str(checkpoint_meta(path).get("stage", ""))
    ckpt = path.with_suffix(".train.pt")
    if ckpt.exists():
        return str(safe_load(ckpt).get("run", {}).get("settings", {}).get("stage", ""))
    return None


def _train_model(models_dir: Path, role: str, train_set: Dataset, info, config: TrainConfig, test_set: Dataset,
                 progress: bool, device: str, trained_now: List[str], data: Dict[str, Any],
                 force: bool = False) -> torch.nn.Module:
    """Train (resumably) and save a SmallCNN for ``role``; reuse one only if it records this stage's identity.

    The identity hashes the role, the training data (``data``: which images, or which crafted
    dataset) and every training setting. The file is ``models/ROLE-nN-eE[-sS].pt``, or
    ``ROLE-nN-eE[-sS]-HASH.pt`` when that name holds a model of other settings (another ε, other
    inner steps, data crafted by another model), so nothing is taken for, or overwritten by, a model
    of other settings. ``force``: train it again even if it exists.
    """
    settings = {"role": role, "arch": "small-cnn", "data": data, "train_examples": len(train_set),
                "epochs": config.epochs, "training": config.identity()}
    stage = settings_hash(settings)
    stem = f"{role}-n{len(train_set)}-e{config.epochs}{f'-s{config.shift}' if config.shift else ''}"
    path = keyed_destination([models_dir / f"{stem}.pt", models_dir / f"{stem}-{stage[:12]}.pt"], stage,
                             _recorded_stage)
    ckpt = path.with_suffix(".train.pt")
    claim(path, [path, ckpt], resume=not force, force=force)
    if path.exists():
        return load_classifier(path, device=device)
    trained_now.append(role)
    model, arch_kwargs = new_classifier("small-cnn", info, "fashion-mnist", config.seed)
    train_classifier(model, train_set, config, test_set=test_set, checkpoint=ckpt, resume=ckpt.exists(),
                     device=device, progress=progress, identity={"stage": stage})
    save_classifier(path, model.cpu(), "small-cnn", arch_kwargs,
                    {"train_examples": len(train_set), "role": role, "stage": stage, "settings": canonical(settings)})
    return model.to(device).eval()


def _given_model(path: Path, device: str, data: Dataset, info) -> torch.nn.Module:
    """A model given by path, refused at once (before anything is trained or crafted with it) when
    it does not fit the data: its channels, image size and classes."""
    model = load_classifier(path, device=device)
    check_model_fits_data(model, data[0][0][None].to(device), len(info.classes), info.name)
    return model


def _data_folder(data_dir: Path, kind: str, header: Dict[str, Any]) -> Path:
    """``data/KIND`` when it is free or holds exactly this recipe (any count), else ``data/KIND-HASH``."""
    identity = dataset_identity(header)

    def recorded(folder: Path) -> Optional[str]:
        if not (folder / MANIFEST).exists():
            return None
        return dataset_identity(json.loads((folder / MANIFEST).read_text()))

    return keyed_destination([data_dir / kind, data_dir / f"{kind}-{identity[:12]}"], identity, recorded)


def run_experiment(out: Path, scale: Scale, *, eps: float = 0.1, norm: str = "linf", craft_eps: float = 4.0,
                   threats: Optional[Sequence[Threat]] = None, datasets: Sequence[str] = DATASETS,
                   standard_model: Optional[Path] = None, robust_model: Optional[Path] = None, seed: int = 0,
                   layer: Optional[str] = None, fresh_shift: int = 0, device: str = "cpu",
                   data_dir: Optional[str] = None, progress: bool = True, force: bool = False) -> Dict[str, Any]:
    """Run every stage; returns the results dict also written to ``out/results.json`` (+ ``table.md``).

    Each stage is reused only where a file records exactly its identity; ``force`` recomputes the
    stages of these settings instead. The results are also kept as ``results-HASH.json`` /
    ``table-HASH.md`` (HASH: the whole run's identity), so a rerun with other settings loses none.
    One run at a time writes to ``out``.

    ``eps``/``norm``: the robust model's adversarial training (PGD-AT). ``threats``: the robust
    accuracy columns of the table, as (norm, radius) pairs (default: the training threat alone).
    ``layer``: the representation D_R and D_NR match (default: the module named ``penultimate``).
    ``fresh_shift``: random translation (pixels) of the fresh models' training images; the models
    that make the datasets are trained without it.
    """
    unknown = [d for d in datasets if d not in DATASETS]
    if unknown:
        raise ValueError(f"unknown dataset(s) {unknown}; choose from {list(DATASETS)}")
    check_positive_int(fresh_shift, "fresh_shift", minimum=0)  # before hours of crafting
    if not 0 < eps < float("inf") or not 0 < craft_eps < float("inf"):
        raise ValueError("eps and craft_eps must be finite and > 0")
    threats = check_threats([(norm, eps)] if threats is None else threats)
    with run_lock(Path(out) / LOCK_NAME):
        return _run(Path(out), scale, eps=eps, norm=norm, craft_eps=craft_eps, threats=threats, datasets=datasets,
                    standard_model=standard_model, robust_model=robust_model, seed=seed, layer=layer,
                    fresh_shift=fresh_shift, device=device, data_dir=data_dir, progress=progress, force=force)


ORIGINAL_IMAGES = {"dataset": "fashion-mnist", "images": "the first train_examples training images"}


@dataclass
class _Stages:
    """What the stages of one run share: where they write, how they run, and what they have done."""

    out: Path
    info: Any
    monitor: Dataset  # the test images the trainers report accuracy on
    device: str
    progress: bool
    force: bool
    timings: Dict[str, float] = field(default_factory=dict)
    trained_now: List[str] = field(default_factory=list)
    crafted_now: Dict[str, int] = field(default_factory=dict)

    def timed(self, name: str, fn: Callable[[], T]) -> T:
        """``fn()``, its seconds added to the stage's time in results.json."""
        t0 = time.perf_counter()
        result = fn()
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0
        return result

    def train(self, role: str, train_set: Dataset, config: TrainConfig, data: Dict[str, Any]) -> torch.nn.Module:
        """The model of ``role`` trained (or reused) on ``train_set``; see :func:`_train_model`."""
        return self.timed(f"train {role}", lambda: _train_model(
            self.out / "models", role, train_set, self.info, config, self.monitor, self.progress, self.device,
            self.trained_now, data, self.force))


def _run(out: Path, scale: Scale, *, eps, norm, craft_eps, threats, datasets, standard_model, robust_model, seed,
         layer, fresh_shift, device, data_dir, progress, force) -> Dict[str, Any]:
    t_start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    train_full, info = load_dataset("fashion-mnist", "train", data_dir)
    test_full, _ = load_dataset("fashion-mnist", "test", data_dir)
    if scale.craft_count > len(train_full):
        raise ValueError(f"craft_count {scale.craft_count} exceeds the {len(train_full)} training images")
    test = first(test_full, scale.eval_images)
    run = _Stages(out, info, first(test_full, min(scale.eval_images, 1000)), device, progress, force)
    base = TrainConfig(batch_size=128, lr=1e-3, seed=seed)
    train_set = first(train_full, scale.train_images)
    models, sources, adv = _maker_models(run, scale, base, train_full, train_set, standard_model, robust_model,
                                         eps, norm)
    crafted, folders = _craft_datasets(run, scale, datasets, models, train_full, craft_eps, layer, seed)
    fresh_cfg = TrainConfig(**{**asdict(base), "epochs": scale.fresh_epochs, "shift": fresh_shift})
    trained_on = _fresh_models(run, scale, fresh_cfg, datasets, folders, crafted, models, sources, train_full)
    examples = {name: len(train_set) if given is None else checkpoint_meta(given).get("train_examples", "all")
                for name, given in (("standard", standard_model), ("robust", robust_model))}
    examples.update({name: len(ds) for name, ds in trained_on.items()})
    rows = _evaluate(run, scale, models, sources, examples, test, threats, seed)
    settings = {"scale": asdict(scale), "seed": seed, "eps": eps, "norm": norm, "craft_eps": craft_eps,
                "fresh_shift": fresh_shift, "threats": threats, "datasets": list(datasets), "layer": layer}
    results = _results(run, settings, models, adv, test, crafted, rows, t_start)
    _write_results(out, results)
    return results


def _maker_models(run: _Stages, scale: Scale, base: TrainConfig, train_full: Dataset, train_set: Dataset,
                  standard_model: Optional[Path], robust_model: Optional[Path], eps: float,
                  norm: str) -> Tuple[Dict[str, torch.nn.Module], Dict[str, str], AdversarialConfig]:
    """Stage 1: the standard and the robust (PGD-AT) model the datasets are crafted with; where each
    comes from; the robust model's adversarial training."""
    models: Dict[str, torch.nn.Module] = {}
    sources: Dict[str, str] = {}
    models["standard"], sources["standard"] = _maker_model(
        run, "standard", standard_model, train_full, train_set,
        f"standard model: {scale.std_epochs} epoch(s) on {len(train_set)} images",
        lambda: TrainConfig(**{**asdict(base), "epochs": scale.std_epochs}))
    adv = AdversarialConfig("pgd", eps=eps, norm=norm, steps=scale.at_steps)
    models["robust"], sources["robust"] = _maker_model(
        run, "robust", robust_model, train_full, train_set,
        f"robust model: PGD-AT ({adv.describe()}), {scale.at_epochs} epoch(s) on {len(train_set)} images",
        lambda: TrainConfig(**{**asdict(base), "epochs": scale.at_epochs, "adversarial": adv}))
    return models, sources, adv


def _maker_model(run: _Stages, role: str, given: Optional[Path], train_full: Dataset, train_set: Dataset,
                 message: str, config: Callable[[], TrainConfig]) -> Tuple[torch.nn.Module, str]:
    """The model given by path (checked against the data), else one trained here on ``train_set``."""
    if given is not None:
        return _given_model(given, run.device, train_full, run.info), str(given)
    _log(message, run.progress)
    return run.train(role, train_set, config(), ORIGINAL_IMAGES), "trained here"


def _craft_datasets(run: _Stages, scale: Scale, datasets: Sequence[str], models: Dict[str, torch.nn.Module],
                    train_full: Dataset, craft_eps: float, layer: Optional[str],
                    seed: int) -> Tuple[Dict[str, Dict[str, Any]], Dict[str, Path]]:
    """Stage 2: each crafted dataset from the first ``craft_count`` training images, as resumable
    shards; its manifest (without the per-shard list) with the shards' mean statistics, and its folder."""
    crafted: Dict[str, Dict[str, Any]] = {}
    folders: Dict[str, Path] = {}
    for kind in datasets:
        maker = models["robust"] if kind == "robust" else models["standard"]
        steps = scale.invert_steps if kind in ("robust", "nonrobust") else scale.targeted_steps
        cfg = CraftConfig(kind=kind, count=scale.craft_count, shard_size=scale.shard_size, steps=steps,
                          eps=craft_eps, layer=layer, seed=seed)
        _log(f"crafting {ROWS['data-' + kind][0]} from {scale.craft_count} images ({cfg.params()['recipe']}, "
             f"{steps} steps)", run.progress)
        folders[kind] = _data_folder(run.out / "data", kind, craft_header(maker, train_full, cfg, "fashion-mnist"))
        manifest = run.timed(f"craft {kind}", lambda: craft(
            maker, train_full, folders[kind], cfg, num_classes=len(run.info.classes), source_name="fashion-mnist",
            device=run.device, progress=run.progress, resume=not run.force, force=run.force))
        run.crafted_now[kind] = len(manifest["crafted_now"])
        crafted[kind] = {k: v for k, v in manifest.items() if k not in ("shards", "crafted_now")}
        crafted[kind]["folder"] = str(folders[kind].relative_to(run.out))
        crafted[kind]["stats"] = _shard_means(manifest["shards"])
    return crafted, folders


def _shard_means(shards: List[Dict[str, Any]]) -> Dict[str, float]:
    """Every ``mean_*`` statistic of the shards, averaged over the images (weighted by shard size)."""
    stats: Dict[str, List[Tuple[float, int]]] = {}
    for s in shards:
        for k, v in s.items():
            if k.startswith("mean_"):
                stats.setdefault(k[5:], []).append((v, s["count"]))
    return {k: sum(v * c for v, c in vs) / sum(c for _, c in vs) for k, vs in stats.items()}


def _fresh_models(run: _Stages, scale: Scale, fresh_cfg: TrainConfig, datasets: Sequence[str],
                  folders: Dict[str, Path], crafted: Dict[str, Dict[str, Any]], models: Dict[str, torch.nn.Module],
                  sources: Dict[str, str], train_full: Dataset) -> Dict[str, Dataset]:
    """Stage 3: a fresh model, plain training, on the original crafted-from images and on each crafted
    dataset (added to ``models``), after noting which model sees what in each; their training sets."""
    shifted = f", images shifted by up to {fresh_cfg.shift} px" if fresh_cfg.shift else ""
    trained_on: Dict[str, Dataset] = {"baseline": first(train_full, scale.craft_count)}
    data: Dict[str, Dict[str, Any]] = {"baseline": ORIGINAL_IMAGES}
    for kind in datasets:
        ds = trained_on[f"data-{kind}"] = CraftedDataset(folders[kind])
        data[f"data-{kind}"] = {"crafted": crafted[kind]["identity"], "count": len(ds)}
        crafted[kind]["seen_by"] = run.timed("evaluate", lambda: who_sees_what(ds, models["standard"],
                                                                               models["robust"]))
    for name, ds in trained_on.items():
        _log(f"fresh model on {ROWS[name][0]}: {scale.fresh_epochs} epoch(s) on {len(ds)} images{shifted}",
             run.progress)
        models[name] = run.train(name, ds, fresh_cfg, data[name])
        sources[name] = "trained here"
    return trained_on


def _evaluate(run: _Stages, scale: Scale, models: Dict[str, torch.nn.Module], sources: Dict[str, str],
              examples: Dict[str, Any], test: Dataset, threats: List[Threat], seed: int) -> List[Dict[str, Any]]:
    """Stage 4: every model's standard and PGD robust accuracy (under each threat) on the test images."""
    rows: List[Dict[str, Any]] = []
    for name, model in models.items():
        _log(f"evaluating {ROWS[name][0]} on {len(test)} test images", run.progress)
        clean = run.timed("evaluate", lambda: accuracy(model, test, device=run.device))
        robust = {threat_label(t): run.timed("evaluate", lambda: robust_accuracy(
            model, test, t[1], norm=t[0], steps=scale.eval_steps, n=len(test), seed=seed, device=run.device))
            for t in threats}
        rows.append({"key": name, "training_set": ROWS[name][0], "description": ROWS[name][1],
                     "standard_accuracy": clean, "robust_accuracy": robust[threat_label(threats[0])],
                     "robust_accuracies": robust, "train_examples": examples[name],
                     "model": sources[name], "fingerprint": model_fingerprint(model)})
    return rows


def _results(run: _Stages, settings: Dict[str, Any], models: Dict[str, torch.nn.Module], adv: AdversarialConfig,
             test: Dataset, crafted: Dict[str, Dict[str, Any]], rows: List[Dict[str, Any]],
             t_start: float) -> Dict[str, Any]:
    """The results of the run, keyed by its identity: the settings and the two dataset-making models."""
    identity = settings_hash({**settings,
                              "models": {k: model_fingerprint(models[k]) for k in ("standard", "robust")}})
    scale, threats = settings["scale"], settings["threats"]
    return {
        "experiment": "robust-features (Ilyas et al. 2019) on Fashion-MNIST", "identity": identity,
        "scale": scale, "seed": settings["seed"], "eps": settings["eps"], "norm": settings["norm"],
        "craft_eps": settings["craft_eps"], "fresh_shift": settings["fresh_shift"],
        "threats": [threat_label(t) for t in threats],
        "robust_attack": f"PGD-{scale['eval_steps']}, step 2.5ε/{scale['eval_steps']}, random start",
        "test_images": len(test), "adversarial_training": adv.describe(),
        "datasets": crafted, "rows": rows, "seconds": {k: round(v, 1) for k, v in run.timings.items()},
        "trained_now": run.trained_now, "crafted_shards_now": run.crafted_now,
        "total_seconds": round(time.perf_counter() - t_start, 1),
    }


def _write_results(out: Path, results: Dict[str, Any]) -> None:
    """results.json and the table (Markdown, HTML): the latest run's, and this run's own copy."""
    for suffix in ("", f"-{results['identity'][:12]}"):
        atomic_write_json(results, out / f"results{suffix}.json")
        atomic_write_text(markdown_table(results), out / f"table{suffix}.md")
        write_html(out / f"table{suffix}.html", "Robust and non-robust features", markdown_table(results))


@torch.no_grad()
def who_sees_what(ds: CraftedDataset, standard: torch.nn.Module, robust: torch.nn.Module) -> Dict[str, float]:
    """How often each model calls a crafted image by its dataset label and by its original class.

    For D_rand / D_det this tells whether the perturbation planted *robust* features of the target
    (the robust model would then say t) or only non-robust ones (the robust model still says y).
    """
    from ..evaluate.sweep import predict

    out = {}
    for name, model in (("standard", standard), ("robust", robust)):
        device = next(model.parameters()).device
        pred = predict(model, ds.x.to(device), 500).cpu()
        out[f"{name}_predicts_label"] = float((pred == ds.y).float().mean())
        out[f"{name}_predicts_original_class"] = float((pred == ds.extras["source_label"]).float().mean())
    return out


def markdown_table(results: Dict[str, Any]) -> str:
    """The paper-style table: one row per training set, standard and robust test accuracy."""
    lines = [f"Standard and robust accuracy on the true Fashion-MNIST test set ({results['test_images']} images; "
             f"robust: {results['robust_attack']}).", "",
             "| training set | examples | standard acc. (%) | "
             + "".join(f"robust acc. {threat_title(t)} (%) | " for t in results["threats"])
             + "what the model was trained on |",
             "|---|---:|---:|" + "---:|" * len(results["threats"]) + "---|"]
    for r in results["rows"]:
        lines.append(f"| {r['training_set']} | {r['train_examples']} | {100 * r['standard_accuracy']:.1f} | "
                     + "".join(f"{100 * r['robust_accuracies'][t]:.1f} | " for t in results["threats"])
                     + f"{r['description']} |")
    shift = results.get("fresh_shift", 0)
    notes = [f"fresh models (the D subset and the crafted sets): standard training, "
             f"{results['scale']['fresh_epochs']} epoch(s)"
             + (f", each image shifted by up to {shift} px" if shift else "")]
    for kind, d in results["datasets"].items():
        s = d.get("stats", {})
        if "target_reached" in s:
            notes.append(f"{ROWS['data-' + kind][0]}: the standard model predicts the target t on "
                         f"{100 * s['target_reached']:.1f}% of the crafted images (L2 ε={d['params']['eps']:g}, "
                         f"{d['params']['steps']} steps)")
        if "feature_loss" in s:
            notes.append(f"{ROWS['data-' + kind][0]}: mean relative feature distance² "
                         f"‖g(x)−g(x_orig)‖²/‖g(x_orig)‖² = {s['feature_loss']:.4f} after {d['params']['steps']} steps")
    for kind, d in results["datasets"].items():
        w = d.get("seen_by")
        if w and kind in ("rand", "det"):
            notes.append(f"{ROWS['data-' + kind][0]} images: the standard model predicts the label t on "
                         f"{100 * w['standard_predicts_label']:.1f}%; the robust model predicts t on "
                         f"{100 * w['robust_predicts_label']:.1f}% and the original class y on "
                         f"{100 * w['robust_predicts_original_class']:.1f}%")
        elif w:
            notes.append(f"{ROWS['data-' + kind][0]} images: predicted as their label by the standard model "
                         f"{100 * w['standard_predicts_label']:.1f}%, by the robust model "
                         f"{100 * w['robust_predicts_label']:.1f}%")
    if notes:
        lines += [""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"
