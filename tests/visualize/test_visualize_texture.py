"""Texture synthesis and style transfer: Gram loss falls ≥ 100×, pluggable networks, real photos, the CLI."""
from __future__ import annotations

import json
import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from robustgan.cli import main
from robustgan.objectives import GramLoss, gram
from robustgan.optim import Evaluation, tapped
from robustgan.visualize import (RandomMultiScaleCNN, load_feature_network, sample_photo, style_transfer,
                                 synthesize_texture)


def _small_net(channels=1):
    return RandomMultiScaleCNN(channels, sizes=(3, 5, 7), filters=32, seed=0)


def _gram_loss(net, x, source):
    """The relative Gram loss recomputed from scratch (not through the recipe)."""
    layers = net.layer_names
    with torch.no_grad(), tapped(net, layers) as f:
        net(source)
        targets = {k: gram(v) for k, v in f.items()}
        net(x)
        ev = Evaluation(x=x, logits=None, origin=x, samples=torch.arange(x.shape[0]), features=dict(f))
        return GramLoss(targets, relative=True)(ev)


@pytest.mark.parametrize("optimizer, steps", [("lbfgs", 300), ("adam", 200)])
def test_gram_loss_falls_at_least_100x_on_a_real_image(fmnist, optimizer, steps):
    source = fmnist[0][1:2]  # a real Fashion-MNIST test image
    net = _small_net()
    res = synthesize_texture(source, network=net, steps=steps, optimizer=optimizer, step_size=0.05, seed=0)
    assert res.x.shape == source.shape and (res.x >= 0).all() and (res.x <= 1).all()
    assert float(res.loss_end) <= float(res.loss_start) / 100, (res.loss_start, res.loss_end)
    again = _gram_loss(net, res.x, source)
    assert torch.allclose(again, res.loss_end, rtol=1e-3, atol=1e-7)
    start = torch.rand(source.shape, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(_gram_loss(net, start, source), res.loss_start, rtol=1e-4)


def test_texture_of_a_real_photo_with_the_default_network_family():
    pytest.importorskip("sklearn")  # the sample photos ship with scikit-learn (optional extra "photos")
    photo = sample_photo("flower")[..., 110:330, 190:410]
    photo = torch.nn.functional.interpolate(photo, size=(40, 40), mode="area")
    net = RandomMultiScaleCNN(3, sizes=(3, 5, 7, 11), filters=32, seed=1)
    res = synthesize_texture(photo, network=net, size=(48, 48), n=2, steps=150, seed=1)
    assert res.x.shape == (2, 3, 48, 48)
    assert (res.loss_end <= res.loss_start / 100).all(), (res.loss_start, res.loss_end)
    assert not torch.allclose(res.x[0], res.x[1])  # two different samples of one texture


def test_missing_photo_source_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"pip install 'robustgan\[photos\]'"):
        sample_photo("china")
    with pytest.raises(ValueError, match="unknown sample photo"):
        sample_photo("mona-lisa")


def test_style_transfer_moves_toward_the_style_and_keeps_the_content(fmnist):
    content, style = fmnist[0][2:3], fmnist[0][1:2]  # a trouser in the texture of a pullover
    res = style_transfer(content, style, network=_small_net(), steps=80, style_weight=10.0, seed=0)
    assert res.style_loss["end"] < res.style_loss["start"] / 10
    assert res.content_loss["start"] == 0.0 and res.content_loss["end"] < 0.5
    noise = style_transfer(content, style, network=_small_net(), steps=0, start="noise")
    assert res.content_loss["end"] < noise.content_loss["start"]


def test_feature_network_is_pluggable_and_left_as_it_was(fmnist):
    net, layers = load_feature_network("default-classifier")
    assert layers == ["model.features.1", "model.features.4"]
    net.train()
    res = synthesize_texture(fmnist[0][2:3], network=net, steps=30, optimizer="adam", step_size=0.05)
    assert net.training and all(p.requires_grad for p in net.parameters())
    assert float(res.loss_end) < float(res.loss_start) / 5
    timm_net, timm_layers = load_feature_network("timm:resnet18", in_channels=3, example_size=32)
    assert timm_layers and all(name in dict(timm_net.named_modules()) for name in timm_layers)
    with pytest.raises(ValueError, match="unknown feature network"):
        load_feature_network("vgg-from-the-internet")


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), c=st.integers(1, 5), h=st.integers(1, 6), w=st.integers(1, 6))
def test_gram_is_symmetric_psd_and_ignores_where_features_are(seed, c, h, w):
    f = torch.randn(2, c, h, w, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    g = gram(f)
    assert torch.allclose(g, g.transpose(1, 2))
    assert (torch.linalg.eigvalsh(g) > -1e-9).all()
    perm = torch.randperm(h * w, generator=torch.Generator().manual_seed(seed + 1))
    shuffled = f.flatten(2)[..., perm].reshape_as(f)
    assert torch.allclose(gram(shuffled), g)


def test_texture_and_style_commands_run_without_photos(tmp_path):
    out = tmp_path / "tex"
    assert main(["texture", "--image", "test:1", "--crop", "none", "--size", "28", "--steps", "40",
                 "--out", str(out), "--quiet"]) == 0
    data = json.loads((out / "texture.json").read_text())
    assert data["gram_loss_end"][0] < data["gram_loss_start"][0] / 10
    assert (out / "texture.png").stat().st_size > 3000 and (out / "texture_0.png").exists()
    out = tmp_path / "style"
    assert main(["style", "--content", "test:0", "--style", str(out.parent / "tex" / "texture_0.png"),
                 "--style-crop", "none", "--size", "28", "--style-size", "28", "--steps", "20",
                 "--out", str(out), "--quiet"]) == 0
    data = json.loads((out / "style.json").read_text())
    assert data["style_loss"]["end"] < data["style_loss"]["start"]
    assert (out / "stylised.png").exists()
