"""Crafted datasets: sharded, with a manifest, atomic, resumable after a crash, loadable as a Dataset."""
from __future__ import annotations

import json

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from robustgan.cli import main
from robustgan.features import CraftConfig, CraftedDataset, craft, read_manifest
from robustgan.models import model_fingerprint

SMALL = dict(count=10, shard_size=4, batch_size=4, steps=3)


@pytest.fixture(scope="module")
def source(fmnist):
    x, y = fmnist
    return TensorDataset(x[:200], y[:200])


class _Boom(Exception):
    pass


def _crash_after(model, calls: int):
    """A forward hook that kills the run at the ``calls``-th forward pass (weights untouched)."""
    seen = {"n": 0}

    def hook(*_):
        seen["n"] += 1
        if seen["n"] >= calls:
            raise _Boom()
    return model.register_forward_hook(hook), seen


@pytest.mark.parametrize("kind", ["det", "robust"])
def test_a_crashed_run_keeps_its_shards_and_resuming_redoes_none_of_them(kind, model, source, tmp_path):
    cfg = CraftConfig(kind=kind, seed=3, **SMALL)
    whole = craft(model, source, tmp_path / "whole", cfg, num_classes=10, progress=False)
    assert whole["complete"] and whole["crafted_now"] == [0, 1, 2]
    # each shard: steps + 1 evaluations, one extra forward (class count / goal features) and, for the
    # targeted attack, one to judge whether the kept last iterate reaches the target
    per_shard = 3 + 2 + (1 if kind == "det" else 0)
    handle, _ = _crash_after(model, per_shard + 2)  # dies inside shard 1
    with pytest.raises(_Boom):
        craft(model, source, tmp_path / "broken", cfg, num_classes=10, progress=False)
    handle.remove()
    manifest = read_manifest(tmp_path / "broken")
    assert [s["index"] for s in manifest["shards"]] == [0] and not manifest["complete"]
    with pytest.raises(ValueError, match="not finished"):
        CraftedDataset(tmp_path / "broken")
    assert len(CraftedDataset(tmp_path / "broken", partial=True)) == 4

    handle, seen = _crash_after(model, 10 ** 9)  # counts forward passes only
    resumed = craft(model, source, tmp_path / "broken", cfg, num_classes=10, progress=False)
    handle.remove()
    assert resumed["crafted_now"] == [1, 2] and seen["n"] == 2 * per_shard  # shard 0 was not redone
    a, b = CraftedDataset(tmp_path / "whole"), CraftedDataset(tmp_path / "broken")
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    for k in a.extras:
        assert torch.equal(a.extras[k], b.extras[k]), k
    again = craft(model, source, tmp_path / "broken", cfg, num_classes=10, progress=False)
    assert again["crafted_now"] == []


def test_manifest_records_counts_parameters_fingerprint_and_seed(model, source, tmp_path):
    craft(model, source, tmp_path, CraftConfig(kind="rand", seed=5, eps=1.5, **SMALL), num_classes=10, progress=False)
    m = json.loads((tmp_path / "manifest.json").read_text())
    assert m["kind"] == "rand" and m["count"] == 10 and m["shard_size"] == 4 and m["seed"] == 5
    assert m["model_fingerprint"] == model_fingerprint(model)
    assert m["params"]["eps"] == 1.5 and m["params"]["steps"] == 3 and m["params"]["norm"] == "l2"
    assert [s["count"] for s in m["shards"]] == [4, 4, 2] and m["complete"]
    assert all(0 <= s["mean_target_reached"] <= 1 for s in m["shards"])
    ds = CraftedDataset(tmp_path)
    assert len(ds) == 10 and ds.kind == "rand"
    assert torch.equal(ds.extras["index"], torch.arange(10))
    assert bool((ds.y != ds.extras["source_label"]).all())  # labelled with the target, never the true class
    assert bool(((ds.x - source.tensors[0][:10]).flatten(1).norm(dim=1) <= 1.5 + 1e-4).all())
    x, y = next(iter(DataLoader(ds, batch_size=10)))
    assert x.shape == (10, 1, 28, 28) and y.dtype == torch.long


def test_robust_kind_labels_with_the_original_class_and_starts_elsewhere(model, source, tmp_path):
    craft(model, source, tmp_path, CraftConfig(kind="nonrobust", **SMALL), num_classes=10, progress=False)
    ds = CraftedDataset(tmp_path)
    assert torch.equal(ds.y, source.tensors[1][:10])
    assert bool((ds.extras["start_index"] != ds.extras["index"]).all())
    assert read_manifest(tmp_path)["params"]["layer"] == "model.penultimate"


def test_changing_the_count_keeps_the_shards_that_cover_the_same_examples(model, source, tmp_path):
    cfg = dict(SMALL, steps=2)
    first = craft(model, source, tmp_path, CraftConfig(kind="det", **cfg), num_classes=10, progress=False)
    assert first["crafted_now"] == [0, 1, 2]
    fewer = craft(model, source, tmp_path, CraftConfig(kind="det", **{**cfg, "count": 8}), num_classes=10, progress=False)
    assert fewer["crafted_now"] == [] and fewer["complete"] and len(CraftedDataset(tmp_path)) == 8
    more = craft(model, source, tmp_path, CraftConfig(kind="det", **{**cfg, "count": 12}), num_classes=10, progress=False)
    assert more["crafted_now"] == [2]  # the last shard now holds 4 examples instead of 2
    ds = CraftedDataset(tmp_path)
    assert len(ds) == 12 and torch.equal(ds.extras["index"], torch.arange(12))


def test_a_rerun_with_other_settings_is_refused(model, source, tmp_path):
    craft(model, source, tmp_path, CraftConfig(kind="det", **SMALL), num_classes=10, progress=False)
    with pytest.raises(ValueError, match="other settings.*params"):
        craft(model, source, tmp_path, CraftConfig(kind="det", **{**SMALL, "steps": 4}), num_classes=10, progress=False)
    with pytest.raises(ValueError, match="exceeds"):
        craft(model, source, tmp_path / "x", CraftConfig(kind="det", count=500), num_classes=10, progress=False)
    for bad in (dict(kind="cats"), dict(kind="det", count=0), dict(kind="det", eps=-1.0), dict(kind="det", step_size=0.0)):
        with pytest.raises(ValueError):
            CraftConfig(**bad)


def test_cli_crafts_and_reports(tmp_path, capsys):
    out = tmp_path / "det"
    assert main(["craft", "det", "--out", str(out), "-n", "6", "--shard-size", "3", "--steps", "2", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["complete"] and summary["shards"] == 2 and summary["crafted_now"] == 2
    assert len(CraftedDataset(out)) == 6
    assert main(["craft", "robust", "--out", str(tmp_path / "r"), "-n", "2", "--quiet"]) == 2
    assert "robust model" in capsys.readouterr().err


def test_noise_start_inverts_from_uniform_noise_and_records_it(model, source, tmp_path):
    """start='noise': no start image (no start_index), the manifest says so, and a rerun with the
    default start is refused rather than mixing two recipes in one dataset."""
    cfg = CraftConfig(kind="nonrobust", seed=1, start="noise", **{**SMALL, "steps": 30})
    m = craft(model, source, tmp_path, cfg, num_classes=10, progress=False)
    assert m["params"]["start"] == "uniform noise in [0, 1]"
    ds = CraftedDataset(tmp_path)
    assert "start_index" not in ds.extras and bool(((ds.x >= 0) & (ds.x <= 1)).all())
    assert torch.equal(ds.y, source.tensors[1][:10])  # inversions keep the original label
    # the inversion moves the features toward the original's: the kept loss beats the noise it began from
    assert float(ds.extras["feature_loss"].mean()) < 0.5
    with pytest.raises(ValueError, match="other settings"):
        craft(model, source, tmp_path, CraftConfig(kind="nonrobust", seed=1, **{**SMALL, "steps": 30}),
              num_classes=10, progress=False)
    with pytest.raises(ValueError, match="start must be one of"):
        CraftConfig(kind="robust", start="zeros")
