"""``robustgan craft``: build D_R, D_NR, D_rand or D_det from the training set, shard by shard."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

import torch
from torch import Tensor
from torch.utils.data import Dataset, TensorDataset

from ..data import load_dataset
from ..distributed import DistContext, setup
from ..models import load_classifier, model_fingerprint
from ..models.default import default_checkpoint_path
from ..validation import check_model_fits_data, check_positive_int
from .adversarial import adversarial_params, attack_batch
from .recipes import choose_targets, feature_layer, match_features, targeted_l2
from .shards import write_shards

STARTS = {"image": "another random training image", "noise": "uniform noise in [0, 1]"}
KINDS = {
    "robust": "D_R: features of a robust model, inverted from another image (Ilyas et al. 2019, §3.1)",
    "nonrobust": "D_NR: the same inversion through a standard model (§3.1)",
    "rand": "D_rand: targeted L2 PGD toward a random other class t, labelled t (§3.2)",
    "det": "D_det: targeted L2 PGD toward t = y + 1 mod C, labelled t (§3.2)",
    "adversarial": "the adversarial version of the images under an attack of the zoo, true labels kept",
}


@dataclass
class CraftConfig:
    kind: str
    count: int = 1000  # training images crafted (the first `count` of the split)
    shard_size: int = 500
    batch_size: int = 250
    steps: Optional[int] = None  # inversion: 200, targeted PGD: 100
    # L2 length of each step. Targeted PGD: 0.1 (Ilyas et al.). Inversion: 0.5 — Ilyas et al. take
    # 1000 steps of 0.1; with 200 steps, 0.1 cannot even travel the ~10 (L2) between two images.
    step_size: Optional[float] = None
    # L2 radius of the targeted attack (D_rand, D_det). Ilyas et al. use 0.5 on CIFAR-10. On
    # Fashion-MNIST, 2 reaches ~91% of the targets but a model trained on D_det then scores below
    # chance (the images' robust features, still of class y, win); at 4 every target is reached,
    # while the robust model still sees the target in under a fifth of the images.
    eps: Optional[float] = None  # rand/det: 4.0; adversarial: the attack's radius
    layer: Optional[str] = None  # representation layer of the inversion (default: 'penultimate')
    # where the inversion starts: "image" (another random training image, as Ilyas et al.) or
    # "noise" (uniform in [0, 1]: nothing of another image's features is left behind to ignore)
    start: str = "image"
    seed: int = 0
    # kind "adversarial": the attack, its norm, targets, quantisation-aware crafting, the split read
    attack: Optional[str] = None
    norm: str = "linf"
    target_mode: str = "none"
    quantize: bool = False
    split: Optional[str] = None  # default: "test" for adversarial, "train" for the others

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}; choose one of {list(KINDS)}")
        for name in ("count", "shard_size", "batch_size"):
            check_positive_int(getattr(self, name), name)
        if self.steps is not None:
            check_positive_int(self.steps, "steps")
        if self.step_size is not None and not self.step_size > 0:
            raise ValueError(f"step_size must be > 0, got {self.step_size}")
        if self.kind == "adversarial":
            if self.attack is None:
                raise ValueError("attack: craft adversarial needs --attack NAME")
            adversarial_params(self.attack, self.norm, self.eps, self.steps, self.target_mode, self.quantize)
        else:
            if self.attack is not None or self.quantize or self.target_mode != "none":
                raise ValueError(f"attack, target mode and quantize belong to craft adversarial, not {self.kind}")
            self.eps = 4.0 if self.eps is None else self.eps
            if not 0 < self.eps < float("inf"):
                raise ValueError(f"eps must be finite and > 0, got {self.eps}")
        if self.split is None:
            self.split = "test" if self.kind == "adversarial" else "train"
        if self.split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {self.split!r}")
        if self.start not in STARTS:
            raise ValueError(f"start must be one of {list(STARTS)}, got {self.start!r}")

    @property
    def inversion(self) -> bool:
        return self.kind in ("robust", "nonrobust")

    def params(self) -> Dict[str, Any]:
        """The recipe's settings as recorded in the manifest (defaults resolved)."""
        if self.kind == "adversarial":
            return adversarial_params(self.attack, self.norm, self.eps, self.steps, self.target_mode, self.quantize)
        if self.inversion:
            return {"recipe": "feature inversion", "steps": self.steps or 200, "step_size": self.step_size or 0.5,
                    "step_rule": "L2-normalised", "constraint": "box [0,1]", "layer": self.layer,
                    "start": STARTS[self.start]}
        return {"recipe": "targeted L2 PGD", "steps": self.steps or 100,
                "step_size": self.step_size or 0.1, "eps": self.eps, "norm": "l2", "iterate": "last",
                "target": "uniform over the other classes" if self.kind == "rand" else "y + 1 mod C"}


def gather(dataset: Dataset, index: Tensor) -> tuple:
    if isinstance(dataset, TensorDataset):
        x, y = dataset.tensors[:2]
        return x[index], y[index]
    xs, ys = zip(*(dataset[int(i)] for i in index))
    return torch.stack(xs), torch.as_tensor(ys)


def shard_generator(seed: int, shard: int) -> torch.Generator:
    """Each shard's own randomness: a resumed run crafts exactly the shards an unbroken one would."""
    return torch.Generator().manual_seed(seed * 1_000_003 + shard * 7_919 + 1)


def craft_header(model, source: Dataset, cfg: CraftConfig, source_name: str = "custom") -> Dict[str, Any]:
    """What the manifest records about the run: every setting that changes the crafted bits."""
    if cfg.count > len(source):
        raise ValueError(f"count {cfg.count} exceeds the {len(source)} source images")
    params = cfg.params()
    if cfg.inversion:
        params["layer"] = feature_layer(model, cfg.layer)
    return {"kind": cfg.kind, "description": KINDS[cfg.kind], "count": cfg.count, "shard_size": cfg.shard_size,
            "batch_size": cfg.batch_size,  # changes the bits (≈3e-7): batched reductions
            "params": params, "model_fingerprint": model_fingerprint(model), "seed": cfg.seed,
            "source": {"dataset": source_name, "split": cfg.split, "examples": "the first `count`",
                       "pool": len(source)}}


def craft(model, source: Dataset, out: Path, cfg: CraftConfig, *, num_classes: int, source_name: str = "custom",
          device: str = "cpu", progress: bool = True, resume: bool = True, force: bool = False,
          ctx: Optional[DistContext] = None, checkpoint: Optional[Path] = None,
          classes: Optional[list] = None) -> Dict[str, Any]:
    """Craft ``cfg.count`` examples from ``source`` with ``model`` into shards under ``out``.

    By default a folder of the same settings is continued (``resume``); ``force`` empties it first.
    With ``ctx`` of several processes (``torchrun``) each takes its share of the shards; rank 0 writes.
    """
    model = model.to(device)
    header = craft_header(model, source, cfg, source_name)
    if checkpoint is not None:  # where the model came from (not part of the run's identity: the fingerprint is)
        header["model_checkpoint"] = str(checkpoint)
    if classes is not None:  # the class names, for exports that name folders or labels after them
        header["classes"] = [str(c) for c in classes]
    params = header["params"]

    def make_shard(shard: int, start: int, stop: int) -> Dict[str, Tensor]:
        gen = shard_generator(cfg.seed, shard)
        index = torch.arange(start, stop)
        x, y = gather(source, index)
        y = y.long()
        extras = {"index": index, "source_label": y}
        if cfg.inversion and cfg.start == "noise":
            x0 = torch.rand(x.shape, generator=gen, dtype=x.dtype)
        elif cfg.inversion:  # a start image other than the original, from the whole pool
            start_index = (index + torch.randint(1, len(source), index.shape, generator=gen)) % len(source)
            extras["start_index"] = start_index
            x0, _ = gather(source, start_index)
        if cfg.kind == "adversarial":
            parts = _in_batches(len(index), cfg.batch_size, lambda sl: _dict_columns(attack_batch(
                model, x[sl].to(device), y[sl].to(device), params, num_classes, gen)))
            columns = dict(zip(_adversarial_columns(params), parts))
            return {"x": columns.pop("x"), "y": y, **extras, **columns}
        if cfg.inversion:
            xs, extras["feature_loss"] = _in_batches(len(index), cfg.batch_size, lambda sl: match_features(
                model, x[sl].to(device), x0[sl].to(device), layer=params["layer"], steps=params["steps"],
                step_size=params["step_size"]))
            labels = y
        else:
            target = choose_targets(y, cfg.kind, num_classes, gen)
            xs, extras["target_reached"] = _in_batches(len(index), cfg.batch_size, lambda sl: targeted_l2(
                model, x[sl].to(device), target[sl].to(device), eps=params["eps"], steps=params["steps"],
                step_size=params["step_size"]))
            labels = target
        return {"x": xs, "y": labels, **extras}

    return write_shards(Path(out), header, make_shard, progress=progress, resume=resume, force=force, ctx=ctx)


def craft_job(kind: str, out: Path, *, checkpoint: Optional[Path] = None, dataset: str = "fashion-mnist",
              data_dir: Optional[str] = None, device: str = "cpu", progress: bool = True, resume: bool = False,
              force: bool = False, **options) -> Dict[str, Any]:
    """Load the training split and the model (default: the shipped standard model), then :func:`craft`.

    A folder that already holds shards is continued only with ``resume`` and replaced only with ``force``.
    Under ``torchrun`` every process runs this call and crafts its share of the shards (gloo on CPU,
    nccl on CUDA, ``cuda:LOCAL_RANK`` each); rank 0 alone writes.
    """
    cfg = CraftConfig(kind=kind, **options)
    if checkpoint is None:
        if kind == "robust":
            raise ValueError("D_R needs a robust model: pass --model with an adversarially trained checkpoint")
        checkpoint = default_checkpoint_path()
    ctx = setup(device)
    try:
        device = ctx.device
        model = load_classifier(checkpoint, device=device)
        source, info = load_dataset(dataset, cfg.split, data_dir)
        check_model_fits_data(model, source[0][0][None].to(device), len(info.classes), info.name)
        result = craft(model, source, Path(out), cfg, num_classes=len(info.classes), source_name=dataset,
                       device=device, progress=progress, resume=resume, force=force, ctx=ctx,
                       checkpoint=checkpoint, classes=list(info.classes))
        if ctx.is_main and result["shards"]:
            from .preview import write_preview

            result["preview"] = str(write_preview(Path(out), model, source, info.classes, device=device))
    finally:
        ctx.close()
    result["model_checkpoint"] = str(checkpoint)
    return result


def _adversarial_columns(params) -> tuple:
    """The order of :func:`attack_batch`'s tensors in a shard."""
    return ("x", "success", "distortion") + (("target",) if params["target_mode"] != "none" else ())


def _dict_columns(out: Dict[str, Tensor]) -> tuple:
    return tuple(out[k] for k in ("x", "success", "distortion", "target") if k in out)


__all__ = ["KINDS", "CraftConfig", "craft", "craft_header", "craft_job"]


def _in_batches(n: int, size: int, run) -> tuple:
    """``run(slice)`` over consecutive slices of ``n`` rows, each output concatenated on the CPU."""
    parts = [tuple(t.cpu() for t in run(slice(b, b + size))) for b in range(0, n, size)]
    return tuple(torch.cat(column) for column in zip(*parts))
