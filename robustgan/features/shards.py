"""Crafted datasets on disk: numbered shards plus a JSON manifest, both written atomically.

A shard is written (temporary file, then rename) before the manifest lists it with the SHA-256 of
its bytes, so a run killed at any moment leaves only finished shards listed; a rerun with the same
settings skips the shards whose bytes still match and crafts the rest (a truncated, damaged or
swapped shard is crafted again), and loading checks every shard. A rerun with other settings
(parameters, batch size, model fingerprint, seed) is refused, and one folder has one writer at a time.
"""
from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import torch
from torch import Tensor
from tqdm.auto import tqdm

from ..models.checkpoint import atomic_save, safe_load
from ..distributed import DistContext
from ..runs import LOCK_NAME, atomic_write_json, claim, file_sha256, run_lock, settings_hash
from ..units import rounds

FORMAT = "robustgan-crafted/1"
MANIFEST = "manifest.json"
# what must match for a rerun to continue a run (``count`` may change: shards inside the new count are kept)
IDENTITY = ("format", "kind", "shard_size", "batch_size", "params", "model_fingerprint", "seed", "source")


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


def dataset_identity(header: Dict[str, Any]) -> str:
    """The hash of every setting that changes the crafted bits (all of ``IDENTITY``; not the count)."""
    return settings_hash({k: header.get(k) for k in IDENTITY if k != "format"})


def shard_name(index: int) -> str:
    return f"shard-{index:05d}.pt"


def write_shards(directory: Path, header: Dict[str, Any], make_shard: Callable[[int, int, int], Dict[str, Tensor]],
                 progress: bool = True, *, resume: bool = True, force: bool = False,
                 ctx: Optional[DistContext] = None) -> Dict[str, Any]:
    """Craft every missing shard: ``make_shard(shard, start, stop)`` returns its tensors (``x``, ``y``, …).

    ``header`` names the run (kind, count, shard_size, batch_size, params, model_fingerprint, seed,
    source); the manifest adds one entry per finished shard (with its SHA-256) and ``complete``. A
    rerun with a different ``count`` keeps the finished shards that cover the same examples (shard k
    always holds examples k·size … k·size + size − 1, crafted from its own seed). A folder that
    already holds shards is continued only with ``resume``, emptied first with ``force`` (else
    refused). The folder is locked while crafting: a second writer is refused. Returns the manifest,
    with ``crafted_now`` listing the shards this call made and ``recrafted`` the damaged ones among them.

    Under ``torchrun`` (``ctx`` of several processes) the missing shards are dealt out one per process
    per round; rank 0 alone holds the lock, reads and writes the folder. A shard depends only on its
    index (its own seed, its examples), so the shards are the same bits whatever the process count.
    """
    directory = Path(directory)
    count, size = int(header["count"]), int(header["shard_size"])
    if count < 1 or size < 1:
        raise ValueError(f"count and shard_size must be >= 1, got {count} and {size}")
    ctx = ctx or DistContext(1, 0, "cpu")
    with ExitStack() as held:  # rank 0 holds the folder's lock until the last shard is on disk

        def open_folder() -> Dict[str, Any]:
            held.enter_context(run_lock(directory / LOCK_NAME))
            results = [directory / MANIFEST, *sorted(directory.glob("shard-*.pt"))]
            claim(directory, results, resume=resume, force=force)
            return _plan(directory, {"format": FORMAT, **header})

        return _craft_missing(directory, ctx.main_only(open_folder), make_shard, progress, ctx)


def _plan(directory: Path, header: Dict[str, Any]) -> Dict[str, Any]:
    """What this run has to craft: the manifest (written now for a new run), the shards still to make
    and the damaged ones among them. Runs on rank 0 alone, with the folder locked."""
    count, size = int(header["count"]), int(header["shard_size"])
    manifest_path = directory / MANIFEST
    header["identity"] = dataset_identity(header)
    if manifest_path.exists():
        manifest = read_manifest(directory)
        differs = [k for k in IDENTITY if manifest.get(k) != json.loads(json.dumps(header.get(k)))]
        if differs:
            raise ValueError(f"{directory} holds a dataset crafted with other settings ({', '.join(differs)}); "
                             f"choose another output folder, or replace it with --force")
        manifest["identity"] = header["identity"]
    else:
        manifest = {**header, "shards": [], "complete": False}
        atomic_write_json(manifest, manifest_path)
    total = (count + size - 1) // size

    def same_slice(s: Dict[str, Any]) -> bool:  # the same examples under this count
        return s["index"] < total and s["count"] == min(size, count - s["index"] * size)

    def intact(s: Dict[str, Any]) -> bool:  # on disk with the bytes the manifest recorded
        path = directory / s["file"]
        return "sha256" in s and path.is_file() and file_sha256(path) == s["sha256"]

    listed = [s for s in manifest["shards"] if same_slice(s)]
    manifest["shards"] = [s for s in listed if intact(s)]
    damaged = sorted({s["index"] for s in listed} - {s["index"] for s in manifest["shards"]})
    manifest["count"] = count
    done = {s["index"] for s in manifest["shards"]}
    return {"manifest": manifest, "todo": [k for k in range(total) if k not in done], "damaged": damaged}


def _craft_missing(directory: Path, plan: Dict[str, Any], make_shard, progress: bool,
                   ctx: DistContext) -> Dict[str, Any]:
    """Craft the shards of ``plan``, one per process per round; rank 0 writes each as it arrives
    (shard file, then the manifest that lists it) and returns the final manifest to every rank."""
    manifest = plan["manifest"]
    count, size = int(manifest["count"]), int(manifest["shard_size"])
    total = (count + size - 1) // size

    def make(shard: int) -> Dict[str, Tensor]:
        start, stop = shard * size, min((shard + 1) * size, count)
        tensors = make_shard(shard, start, stop)
        if tensors["x"].shape[0] != stop - start or tensors["y"].shape[0] != stop - start:
            raise ValueError(f"shard {shard} must hold {stop - start} examples")
        return tensors

    crafted: List[int] = []
    bar = tqdm(total=total, initial=total - len(plan["todo"]), desc=f"craft {manifest['kind']}", unit="shard",
               disable=not (progress and ctx.is_main))
    for round_ in rounds(plan["todo"], ctx, make):
        for shard, tensors in round_:
            if ctx.is_main:
                _write_shard(directory, manifest, shard, tensors)
            crafted.append(shard)
        bar.update(len(round_))
    bar.close()
    result = None
    if ctx.is_main:
        manifest["complete"] = len(manifest["shards"]) == total
        atomic_write_json(manifest, directory / MANIFEST)
        result = {**manifest, "crafted_now": crafted, "recrafted": plan["damaged"]}
    return ctx.broadcast(result)


def _write_shard(directory: Path, manifest: Dict[str, Any], shard: int, tensors: Dict[str, Tensor]) -> None:
    """The shard's file, then the manifest listing it with the SHA-256 of its bytes (both atomic)."""
    size = int(manifest["shard_size"])
    start, stop = shard * size, min((shard + 1) * size, int(manifest["count"]))
    atomic_save({k: v.detach().cpu() for k, v in tensors.items()}, directory / shard_name(shard))
    entry = {"index": shard, "file": shard_name(shard), "start": start, "count": stop - start,
             "sha256": file_sha256(directory / shard_name(shard))}
    for k, v in tensors.items():
        if k not in ("x", "y") and v.dim() == 1 and (v.is_floating_point() or v.dtype == torch.bool):
            entry[f"mean_{k}"] = float(v.float().mean())
    manifest["shards"] = sorted(manifest["shards"] + [entry], key=lambda s: s["index"])
    atomic_write_json(manifest, directory / MANIFEST)


def load_shard(directory: Path, entry: Dict[str, Any]) -> Dict[str, Tensor]:
    """A shard's tensors, after checking its bytes against the manifest (damage never loads as data)."""
    path = Path(directory) / entry["file"]
    if not path.is_file():
        raise FileNotFoundError(f"{path}: shard {entry['index']} listed in the manifest is missing; "
                                f"rerun the craft command with --resume to craft it again")
    if "sha256" in entry and file_sha256(path) != entry["sha256"]:
        raise ValueError(f"{path}: shard {entry['index']} does not match the SHA-256 in the manifest (truncated, "
                         f"damaged or replaced); rerun the craft command with --resume to craft it again")
    return safe_load(path)


def shard_files(directory: Path, manifest: Optional[Dict[str, Any]] = None) -> List[Path]:
    manifest = manifest or read_manifest(directory)
    return [Path(directory) / s["file"] for s in manifest["shards"]]
