"""``robustgan export``: a crafted dataset out of its shards, into npz, a PNG folder or a Hugging
Face dataset, with what the 8-bit formats' rounding costs the attack measured on the model."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Optional

from torch import Tensor

from ..data.formats import EIGHT_BIT, FORMATS, quantize, write_dataset
from ..models.predict import predict
from .dataset import CraftedDataset


def goal_reached(model, x: Tensor, data: CraftedDataset, device: str = "cpu", batch: int = 500) -> Optional[Tensor]:
    """Per example, whether the crafted image still does what it was crafted for (None: kinds
    without a goal, D_R / D_NR): fool the model (untargeted), reach the target (targeted, D_rand, D_det)."""
    kind = data.kind
    if kind == "adversarial":
        goal = data.extras.get("target", data.y)
        targeted = "target" in data.extras
    elif kind in ("rand", "det"):
        goal, targeted = data.y, True  # their label is the target
    else:
        return None
    pred = predict(model, x, batch, device).cpu()
    return pred == goal if targeted else pred != goal


def clean_images(manifest: Dict[str, Any], index: Tensor) -> Optional[Tensor]:
    """The originals of the crafted examples, when the manifest names a dataset this library loads."""
    from ..data import load_dataset
    from .job import gather

    src = manifest.get("source", {})
    try:
        dataset, _ = load_dataset(src["dataset"], src["split"])
    except (KeyError, ValueError, FileNotFoundError):
        return None
    return gather(dataset, index)[0]


def outside_ball(data: CraftedDataset, stored: Tensor) -> Optional[int]:
    """How many stored examples rounding pushed out of the attack's ε-ball (None: no ball to check)."""
    from .adversarial import parse_attack_norm
    from .quantize import distortion

    params = data.manifest.get("params", {})
    if data.kind != "adversarial" or params.get("eps") is None:
        return None
    x = clean_images(data.manifest, data.extras["index"])
    if x is None:
        return None
    p = parse_attack_norm(params["attack"], params["norm"])
    eps = float(params["eps"])
    return int((distortion(stored - x, p) > eps * (1 + 1e-6) + 1e-6).sum())


def export_crafted(directory: Path, fmt: str, out: Path, *, model=None, device: str = "cpu") -> Dict[str, Any]:
    """Write the finished crafted dataset in ``directory`` to ``out`` as ``fmt``; returns the report.

    With ``model`` (the crafting model; its fingerprint is checked against the manifest) the report
    gives the goal rate of the images as crafted and as the format stores them."""
    from ..models import model_fingerprint

    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {sorted(FORMATS)}")
    data = CraftedDataset(directory)
    classes = data.manifest.get("classes") or [str(k) for k in range(int(data.y.max()) + 1)]
    stored = quantize(data.x) if fmt in EIGHT_BIT else data.x
    columns = {k: v for k, v in data.extras.items() if v.dim() == 1}
    info = {k: data.manifest.get(k) for k in ("kind", "description", "params", "model_fingerprint", "seed", "source")}
    path = write_dataset(data.x, data.y, Path(out), fmt, classes, columns, info)
    report: Dict[str, Any] = {"format": fmt, "written": str(path), "examples": len(data), "kind": data.kind,
                              "eight_bit": fmt in EIGHT_BIT,
                              "largest_rounding": float((stored - data.x).abs().max()) if len(data) else 0.0}
    outside = outside_ball(data, stored)
    if outside is not None:  # rounding to the nearest level can step past ε (quantise-aware crafting never does)
        report["outside_ball_as_stored"] = outside
    if model is not None:
        if model_fingerprint(model) != data.manifest["model_fingerprint"]:
            raise ValueError("model: this is not the model the dataset was crafted with (fingerprints differ); "
                             "pass the crafting checkpoint")
        model = model.to(device)
        before = goal_reached(model, data.x, data, device)
        after = goal_reached(model, stored, data, device)
        if before is not None:
            report["goal_rate_as_crafted"] = float(before.float().mean())
            report["goal_rate_as_stored"] = float(after.float().mean())
            report["lost_to_rounding"] = int((before & ~after).sum())
            report["gained_by_rounding"] = int((~before & after).sum())
    return report


NPZ_FILE = "dataset.npz"  # export --format npz: OUT/dataset.npz


def register(sub) -> None:
    from ..cli_flags import add_device, add_model, add_out

    p = sub.add_parser("export")
    p.add_argument("crafted", type=Path, help="the folder of a finished `robustgan craft` run")
    p.add_argument("--format", choices=sorted(FORMATS), required=True,
                   help="; ".join(f"{k}: {v}" for k, v in FORMATS.items()))
    add_out(p, None, f"folder to write: npz as OUT/{NPZ_FILE}; png and hf fill OUT, which must be new or empty",
            required=True)
    add_model(p, "the crafting checkpoint, to measure rounding's cost (default: the one the manifest names)")
    add_device(p, default="cpu")
    p.set_defaults(run=run)


def export_path(out: Path, fmt: str) -> Path:
    """What ``--out`` becomes for ``fmt``: the folder itself (png, hf) or ``OUT/dataset.npz``; for one
    release, an ``--out`` ending in .npz is still the file to write."""
    from ..cli_renamed import result_path

    return result_path(out, NPZ_FILE, (".npz",)) if fmt == "npz" else out


def run(args) -> None:
    from ..models import load_classifier
    from .shards import read_manifest

    checkpoint = args.model or read_manifest(args.crafted).get("model_checkpoint")
    model = load_classifier(Path(checkpoint), device=args.device) if checkpoint else None
    out = export_path(args.out, args.format)
    print(json.dumps(export_crafted(args.crafted, args.format, out, model=model, device=args.device), indent=2))


__all__ = ["export_crafted", "goal_reached"]
