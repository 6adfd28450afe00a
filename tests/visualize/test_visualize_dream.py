"""DeepDream amplifies a layer at several octaves; UpTo cuts a model at a layer and leaves no hooks."""
from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from robustgan.cli import main
from robustgan.optim import tapped
from robustgan.visualize import UpTo, deepdream


def test_dream_amplifies_the_layer_over_octaves(model, fmnist):
    x = fmnist[0][:2]
    res = deepdream(model, x, "model.features.4", octaves=3, steps=15, seed=0)
    assert res.sizes == [(14, 14), (20, 20), (28, 28)]
    assert [o.shape[-1] for o in res.octaves] == [14, 20, 28]
    assert res.x.shape == x.shape and (res.x >= 0).all() and (res.x <= 1).all()
    assert (res.energy_after > 1.3 * res.energy_before).all(), (res.energy_before, res.energy_after)
    with torch.no_grad(), tapped(model, ["model.features.4"]) as f:  # independent check of the energy
        model(res.x)
    assert torch.allclose(0.5 * f["model.features.4"].flatten(1).pow(2).mean(1), res.energy_after, rtol=1e-5)
    again = deepdream(model, x, "model.features.4", octaves=3, steps=15, seed=0)
    assert torch.equal(again.x, res.x)


def test_dream_runs_at_other_sizes_through_a_convolutional_cut(model, fmnist):
    big = F.interpolate(fmnist[0][:1], size=(40, 48), mode="bilinear", align_corners=False).clamp(0, 1)
    res = deepdream(model, big, "model.features.1", octaves=2, steps=5)
    assert res.x.shape == big.shape and float(res.energy_after) > float(res.energy_before)
    with pytest.raises(ValueError, match="convolutional layer"):
        deepdream(model, big, "model.penultimate.2", octaves=2, steps=1)


def test_up_to_matches_the_tap_and_removes_its_hook(model, fmnist):
    x = fmnist[0][:4]
    cut = UpTo(model, "model.features.4")
    with torch.no_grad():
        out = cut(x)
        with tapped(model, ["model.features.4"]) as f:
            model(x)
    assert torch.equal(out, f["model.features.4"])
    assert all(not m._forward_hooks for m in model.modules())
    with pytest.raises(ValueError, match="unknown layer"):
        UpTo(model, "model.nope")


def test_dream_command(tmp_path):
    out = tmp_path / "dream"
    assert main(["dream", "--image", "test:4", "--steps", "8", "--out", str(out), "--quiet"]) == 0
    data = json.loads((out / "dream.json").read_text())
    assert data["amplification"][0] > 1 and len(data["octave_sizes"]) == 3
    assert (out / "dream.png").stat().st_size > 3000 and (out / "dream_image.png").exists()
