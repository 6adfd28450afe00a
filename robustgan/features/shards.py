"""Crafted datasets on disk: numbered shards plus a JSON manifest, both written atomically.

A shard is written (temporary file, then rename) before the manifest lists it, so a run killed at
any moment leaves only finished shards listed; a rerun with the same settings skips them and
crafts the rest. A rerun with other settings (parameters, model fingerprint, seed) is refused.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import torch
from torch import Tensor
from tqdm.auto import tqdm

from ..models.checkpoint import atomic_save, safe_load

FORMAT = "robustgan-crafted/1"
MANIFEST = "manifest.json"
# what must match for a rerun to continue a run (``count`` may change: shards inside the new count are kept)
IDENTITY = ("format", "kind", "shard_size", "params", "model_fingerprint", "seed", "source")


def atomic_write_json(obj: Any, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def read_manifest(directory: Path) -> Dict[str, Any]:
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"no crafted dataset at {directory} (missing {MANIFEST})")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{path} is not a robustgan crafted-dataset manifest (expected format {FORMAT!r})")
    return manifest


def shard_name(index: int) -> str:
    return f"shard-{index:05d}.pt"


def write_shards(directory: Path, header: Dict[str, Any], make_shard: Callable[[int, int, int], Dict[str, Tensor]],
                 progress: bool = True) -> Dict[str, Any]:
    """Craft every missing shard: ``make_shard(shard, start, stop)`` returns its tensors (``x``, ``y``, …).

    ``header`` names the run (kind, count, shard_size, params, model_fingerprint, seed, source); the
    manifest adds one entry per finished shard and ``complete``. A rerun with a different ``count``
    keeps the finished shards that cover the same examples (shard k always holds examples
    k·size … k·size + size − 1, crafted from its own seed). Returns the manifest, with
    ``crafted_now`` listing the shards this call made.
    """
    directory = Path(directory)
    count, size = int(header["count"]), int(header["shard_size"])
    if count < 1 or size < 1:
        raise ValueError(f"count and shard_size must be >= 1, got {count} and {size}")
    header = {"format": FORMAT, **header}
    manifest_path = directory / MANIFEST
    if manifest_path.exists():
        manifest = read_manifest(directory)
        differs = [k for k in IDENTITY if manifest.get(k) != json.loads(json.dumps(header.get(k)))]
        if differs:
            raise ValueError(f"{directory} holds a dataset crafted with other settings ({', '.join(differs)}); "
                             f"choose another output folder or delete it")
    else:
        manifest = {**header, "shards": [], "complete": False}
        atomic_write_json(manifest, manifest_path)
    total = (count + size - 1) // size

    def still_valid(s: Dict[str, Any]) -> bool:  # listed, on disk, and the same slice under this count
        return (s["index"] < total and s["count"] == min(size, count - s["index"] * size)
                and (directory / s["file"]).is_file())

    manifest["shards"] = [s for s in manifest["shards"] if still_valid(s)]
    manifest["count"] = count
    done = {s["index"] for s in manifest["shards"]}
    crafted: List[int] = []
    bar = tqdm(total=total, initial=len(done), desc=f"craft {header['kind']}", unit="shard", disable=not progress)
    for shard in range(total):
        if shard in done:
            continue
        start, stop = shard * size, min((shard + 1) * size, count)
        tensors = make_shard(shard, start, stop)
        if tensors["x"].shape[0] != stop - start or tensors["y"].shape[0] != stop - start:
            raise ValueError(f"shard {shard} must hold {stop - start} examples")
        atomic_save({k: v.detach().cpu() for k, v in tensors.items()}, directory / shard_name(shard))
        entry = {"index": shard, "file": shard_name(shard), "start": start, "count": stop - start}
        for k, v in tensors.items():
            if k not in ("x", "y") and v.dim() == 1 and (v.is_floating_point() or v.dtype == torch.bool):
                entry[f"mean_{k}"] = float(v.float().mean())
        manifest["shards"] = sorted(manifest["shards"] + [entry], key=lambda s: s["index"])
        atomic_write_json(manifest, manifest_path)
        crafted.append(shard)
        bar.update(1)
    bar.close()
    manifest["complete"] = len(manifest["shards"]) == total
    atomic_write_json(manifest, manifest_path)
    return {**manifest, "crafted_now": crafted}


def load_shard(directory: Path, entry: Dict[str, Any]) -> Dict[str, Tensor]:
    return safe_load(Path(directory) / entry["file"])


def shard_files(directory: Path, manifest: Optional[Dict[str, Any]] = None) -> List[Path]:
    manifest = manifest or read_manifest(directory)
    return [Path(directory) / s["file"] for s in manifest["shards"]]
