"""``craft adversarial``: any attack of the zoo into resumable shards; 8-bit grids; exports that round-trip."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import TensorDataset

from robustgan.cli import main
from robustgan.data import load_dataset, take
from robustgan.data.formats import quantize, read_hf, read_npz, write_dataset
from robustgan.features import CraftConfig, CraftedDataset, craft, read_manifest
from robustgan.features import job as craft_module
from robustgan.features.export import export_crafted
from robustgan.features.quantize import distortion, quantization_aware, snap_to_grid
from robustgan.optim.projections import lp_norm

CLASSES = [str(k) for k in range(10)]


@pytest.fixture(scope="module")
def source(fmnist):
    x, y = fmnist
    return TensorDataset(x[:200], y[:200])


def _craft(model, source, out, **options):
    cfg = CraftConfig(kind="adversarial", **{"count": 40, "shard_size": 20, "batch_size": 20, **options})
    # the source is the first test images: the manifest names them so that exports can find the originals
    return craft(model, source, out, cfg, num_classes=10, progress=False, classes=CLASSES, source_name="fashion-mnist")


def _in_ball(data, source, p, eps):
    x = source.tensors[0][data.extras["index"]]
    delta = data.x - x
    assert float(data.x.min()) >= 0 and float(data.x.max()) <= 1
    size = distortion(delta, p)
    assert bool((size <= eps * (1 + 1e-5) + 1e-6).all()), float(size.max())
    assert torch.allclose(size, data.extras["distortion"], atol=1e-5)
    return x


@pytest.mark.parametrize("attack, norm, eps, low", [("pgd", "linf", 0.1, 0.8), ("apgd", "l2", 1.5, 0.8),
                                                    ("difgsm", "linf", 0.1, 0.7), ("fmn", "l1", 10.0, 0.7)])
def test_adversarial_sets_lie_in_their_ball_keep_true_labels_and_fool(attack, norm, eps, low, model, source, tmp_path):
    _craft(model, source, tmp_path / "d", attack=attack, norm=norm, eps=eps, steps=20)
    data = CraftedDataset(tmp_path / "d")
    p = {"linf": float("inf"), "l2": 2.0, "l1": 1.0}[norm]
    x = _in_ball(data, source, p, eps)
    assert torch.equal(data.y, source.tensors[1][:40])
    with torch.no_grad():
        fooled = model(data.x).argmax(1) != data.y
    assert torch.equal(fooled, data.extras["success"])
    assert float(fooled.float().mean()) >= low
    assert float((model(x).argmax(1) != data.y).float().mean()) < 0.3  # the clean images were mostly right


def test_targeted_modes_record_and_reach_their_targets(model, source, tmp_path):
    _craft(model, source, tmp_path / "next", attack="pgd", eps=0.2, steps=30, target_mode="next")
    data = CraftedDataset(tmp_path / "next")
    assert torch.equal(data.extras["target"], (data.y + 1) % 10)
    with torch.no_grad():
        reached = model(data.x).argmax(1) == data.extras["target"]
    assert torch.equal(reached, data.extras["success"]) and float(reached.float().mean()) >= 0.8
    with pytest.raises(ValueError, match="no targeted form"):
        CraftConfig(kind="adversarial", attack="square", eps=0.1, target_mode="random")


def test_bad_recipes_are_refused_with_a_sentence():
    with pytest.raises(ValueError, match="eps: pgd is a fixed-radius attack"):
        CraftConfig(kind="adversarial", attack="pgd")
    with pytest.raises(ValueError, match="norm: ddn supports l2"):
        CraftConfig(kind="adversarial", attack="ddn", norm="linf")
    with pytest.raises(ValueError, match="unknown attack"):
        CraftConfig(kind="adversarial", attack="nope", eps=0.1)
    with pytest.raises(ValueError, match="belong to craft adversarial"):
        CraftConfig(kind="det", quantize=True)


def test_a_killed_run_resumes_without_redoing_shards(model, source, tmp_path, monkeypatch):
    options = dict(attack="pgd", eps=0.1, steps=5, count=60)
    whole = _craft(model, source, tmp_path / "whole", **options)
    assert whole["crafted_now"] == [0, 1, 2]
    real, calls = craft_module.attack_batch, {"n": 0}

    def dies_in_the_second_shard(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(craft_module, "attack_batch", dies_in_the_second_shard)
    with pytest.raises(KeyboardInterrupt):
        _craft(model, source, tmp_path / "killed", **options)
    assert [s["index"] for s in read_manifest(tmp_path / "killed")["shards"]] == [0]
    calls["n"] = 10  # no more deaths; count what the resumed run crafts
    resumed = _craft(model, source, tmp_path / "killed", **options)
    assert resumed["crafted_now"] == [1, 2] and calls["n"] == 12
    a, b = CraftedDataset(tmp_path / "whole"), CraftedDataset(tmp_path / "killed")
    assert torch.equal(a.x, b.x) and all(torch.equal(a.extras[k], b.extras[k]) for k in a.extras)


# --- the 8-bit grid --------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2 ** 16), st.sampled_from([float("inf"), 2.0, 1.0, 0.0]), st.floats(0.0, 3.0))
def test_snapping_lands_on_the_grid_inside_the_ball_and_box(seed, p, eps):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (5, 1, 6, 6), generator=gen).float() / 255
    radius = torch.full((5,), eps if p else float(round(eps * 5)))
    delta = torch.randn(x.shape, generator=gen)
    scale = radius / distortion(delta, p if p else float("inf")).clamp_min(1e-12) if p else torch.full((5,), 0.3)
    adv = (x + delta * scale.reshape(-1, 1, 1, 1)).clamp(0, 1)
    if p == 0:  # keep only `radius` changed pixels per row
        keep = torch.zeros_like(adv, dtype=torch.bool).flatten(1)
        for i, k in enumerate(radius.long().tolist()):
            keep[i, :k] = True
        adv = torch.where(keep.reshape(adv.shape), adv, x)
    q = snap_to_grid(adv, x, radius, p)
    assert torch.equal(q, quantize(q))
    assert float(q.min()) >= 0 and float(q.max()) <= 1
    assert bool((distortion(q - x, p) <= distortion(adv - x, p) * (1 + 1e-5) + 1e-5).all() or
                (distortion(q - x, p) <= radius * (1 + 1e-5) + 1e-5).all())
    assert bool((distortion(q - x, p) <= radius * (1 + 1e-5) + 1e-5).all())
    assert float((q - adv).abs().max()) * 255 <= 1 + 1e-3  # never more than one grey level from the point


def test_quantization_aware_crafting_keeps_more_examples_adversarial_on_the_grid(model, source, tmp_path):
    # ε on the grid (8 grey levels): plain rounding then stays in the ball, and the two runs share the
    # attack's bits up to the rounding, so the aware run can only add fooling examples
    options = dict(attack="pgd", eps=8 / 255, steps=20, count=100, shard_size=100, batch_size=100)
    _craft(model, source, tmp_path / "plain", **options)
    _craft(model, source, tmp_path / "aware", quantize=True, **options)
    plain, aware = CraftedDataset(tmp_path / "plain"), CraftedDataset(tmp_path / "aware")
    assert torch.equal(aware.x, quantize(aware.x))  # already 8-bit
    _in_ball(aware, source, float("inf"), 8 / 255)
    with torch.no_grad():
        naive = (model(quantize(plain.x)).argmax(1) != plain.y).float().mean()
        kept = (model(aware.x).argmax(1) != aware.y).float().mean()
    assert float(kept) >= float(naive)
    assert float(kept) >= float(plain.extras["success"].float().mean()) - 0.02


def test_quantization_aware_recovers_examples_rounding_broke(model, fmnist):
    """FMN's minimal L∞ points sit just across the boundary: rounding them to 8 bits breaks about
    half; continuing on the grid inside the ball (radius: the distortion rounded up to a level)
    brings them back."""
    import attacks

    x, y = fmnist[0][:64], fmnist[1][:64]
    res = attacks.fmn(model, x, y, norm="linf", steps=50)
    eps = (res.distance * 255).ceil() / 255
    q, recovered = quantization_aware(model, res.x, x, eps, float("inf"), y, False, steps=20)
    with torch.no_grad():
        fooled = int(res.success.sum())
        naive = int((model(snap_to_grid(res.x, x, eps, float("inf"))).argmax(1) != y).sum())
        after = int((model(q).argmax(1) != y).sum())
    assert naive <= fooled - 10  # rounding really broke examples
    assert after == naive + recovered and after >= fooled - 2
    assert bool(((q - x).abs().flatten(1).amax(1) <= eps + 1e-6).all()) and torch.equal(q, quantize(q))
    with pytest.raises(ValueError, match="8-bit images"):
        quantization_aware(model, res.x, x + 1e-3, eps, float("inf"), y, False)


def test_quantization_aware_l2_keeps_the_attack_inside_the_ball(model, fmnist):
    """DDN's L2 points projected onto ε = 1: nearest rounding leaves the ball or loses the attack;
    the grid run gets the examples back without leaving it."""
    import attacks
    from robustgan.optim import Ball, Box

    x, y = fmnist[0][:64], fmnist[1][:64]
    eps = torch.full((64,), 1.0)
    adv = (Ball(2.0, eps) & Box(0, 1)).project(attacks.ddn(model, x, y, steps=100).x, x, eps)
    q, recovered = quantization_aware(model, adv, x, eps, 2.0, y, False, steps=20)
    with torch.no_grad():
        fooled = int((model(adv).argmax(1) != y).sum())
        naive = int((model(snap_to_grid(adv, x, eps, 2.0)).argmax(1) != y).sum())
        after = int((model(q).argmax(1) != y).sum())
    assert naive <= fooled - 10 and after >= fooled - 3 and after == naive + recovered
    assert bool((lp_norm(q - x, 2) <= 1 + 1e-5).all()) and torch.equal(q, quantize(q))


# --- export and import ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def crafted(model, source, tmp_path_factory):
    out = tmp_path_factory.mktemp("crafted") / "set"
    _craft(model, source, out, attack="pgd", eps=0.1, steps=10, target_mode="random")
    return out


@pytest.mark.parametrize("fmt", ["npz", "png", "hf"])
def test_every_export_format_round_trips(fmt, crafted, model, source, tmp_path):
    data = CraftedDataset(crafted)
    target = tmp_path / ("set.npz" if fmt == "npz" else "set")
    report = export_crafted(crafted, fmt, target, model=model)
    name = {"npz": "npz:", "png": "folder:", "hf": "hf:"}[fmt] + str(target)
    ds, info = load_dataset(name)
    x, y = take(ds, None)
    want = data.x if fmt == "npz" else quantize(data.x)
    if fmt == "png":  # ImageFolder reads class by class; the file names are the source indices
        order = torch.tensor([int(p.rsplit("/", 1)[-1][:6]) for p, _ in ds.samples]).argsort()
        x, y = x[order], y[order]
    assert torch.equal(x, want) and torch.equal(y, data.y) and len(info.classes) == 10
    assert report["examples"] == 40 and report["eight_bit"] == (fmt != "npz")
    x = source.tensors[0][data.extras["index"]]
    assert report["outside_ball_as_stored"] == int(((want - x).abs().flatten(1).amax(1) > 0.1 + 1e-6).sum())
    with torch.no_grad():
        stored_rate = float((model(want).argmax(1) == data.extras["target"]).float().mean())
    assert report["goal_rate_as_stored"] == pytest.approx(stored_rate)
    assert report["goal_rate_as_crafted"] == pytest.approx(float(data.extras["success"].float().mean()))
    if fmt in ("npz", "hf"):
        _, _, columns = (read_npz if fmt == "npz" else read_hf)(target)
        assert torch.equal(columns["target"].long(), data.extras["target"])


def test_export_refuses_another_model_and_a_busy_folder(crafted, robust_model, tmp_path):
    with pytest.raises(ValueError, match="not the model the dataset was crafted with"):
        export_crafted(crafted, "npz", tmp_path / "x.npz", model=robust_model)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file").write_text("x")
    with pytest.raises(FileExistsError, match="not empty"):
        write_dataset(torch.zeros(1, 1, 2, 2), torch.zeros(1), tmp_path / "busy", "png", CLASSES)


def test_exports_load_back_for_evaluate_and_craft(crafted, tmp_path, capsys):
    assert main(["export", str(crafted), "--format", "npz", "--out", str(tmp_path / "a")]) in (0, None)
    report = json.loads(capsys.readouterr().out)
    npz = tmp_path / "a" / "dataset.npz"
    assert report["examples"] == 40 and not report["eight_bit"] and report["written"] == str(npz)
    code = main(["evaluate", "--dataset", f"npz:{npz}", "-n", "20", "--attacks", "fgsm",
                 "--norms", "linf", "--eps-linf", "0.05", "--num-minimal", "0", "--no-checks",
                 "--out", str(tmp_path / "ev"), "--quiet"])
    assert code in (0, None)
    verdict = json.loads((tmp_path / "ev" / "report.json").read_text())
    assert verdict["data"]["examples"] == 20
    code = main(["craft", "adversarial", "--dataset", f"npz:{npz}", "--attack", "fgsm", "--eps",
                 "0.05", "-n", "20", "--out", str(tmp_path / "again"), "--quiet"])
    assert code in (0, None) and CraftedDataset(tmp_path / "again").manifest["complete"]
    from PIL import Image

    preview = Image.open(tmp_path / "again" / "preview.png")  # clean / adversarial / difference, captioned
    assert preview.size[0] >= 1000 and preview.size[1] >= 400


def test_an_npz_of_other_tools_loads(tmp_path):
    x = np.random.default_rng(0).random((4, 28, 28), dtype=np.float32)
    np.savez(tmp_path / "plain.npz", x=x, y=np.array([0, 1, 2, 1]))
    ds, info = load_dataset(f"npz:{tmp_path / 'plain.npz'}")
    assert ds[0][0].shape == (1, 28, 28) and info.classes == ("0", "1", "2")
    np.savez(tmp_path / "bad.npz", images=x)
    with pytest.raises(ValueError, match="needs arrays 'x'"):
        load_dataset(f"npz:{tmp_path / 'bad.npz'}")
