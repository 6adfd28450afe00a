"""Activation maximisation beats the whole test set; retrieval, transforms, Fourier parametrisation."""
from __future__ import annotations

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from robustgan.cli import main
from robustgan.data import load_dataset, take
from robustgan.objectives import Channel, Direction, Unit
from robustgan.optim import Adam, Fourier, optimize, tapped
from robustgan.visualize import Jitter, RandomScale, features_of, maximize_activation, top_dataset_images


@pytest.fixture(scope="module")
def test_set():
    x, _ = take(load_dataset("fashion-mnist", "test")[0], None)
    return x


def _activations(model, x, layer):
    with torch.no_grad(), tapped(model, [layer]) as feats:
        model(x)
    return feats[layer]


@pytest.fixture(scope="module")
def test_set_activations(model, test_set):
    """Both probed layers over the whole test set, by brute force (independent of the recipe)."""
    return features_of(model, test_set, ["model.penultimate.2", "model.features.4"])


@pytest.mark.parametrize("layer, kind, indices", [
    ("model.penultimate.2", "unit", [1, 5, 6]),
    ("model.features.4", "channel", [2, 3, 6]),
])
def test_synthesis_exceeds_the_maximum_over_the_whole_test_set(model, test_set, test_set_activations, layer, kind,
                                                               indices):
    res = maximize_activation(model, layer, kind=kind, indices=indices, dataset=test_set, steps=100, top_k=3)
    feats = test_set_activations[layer]
    per = feats if feats.dim() == 2 else feats.flatten(2).mean(2)
    dataset_max = per[:, indices].max(dim=0).values  # brute force, independent of the recipe
    assert torch.allclose(res.top.maximum, dataset_max)
    synth = _activations(model, res.x, layer)
    synth = (synth if synth.dim() == 2 else synth.flatten(2).mean(2))[torch.arange(3), indices]
    assert torch.allclose(synth, res.activation, atol=1e-5)
    assert (dataset_max > 0).all() and (synth > dataset_max).all(), (synth, dataset_max)
    assert (res.x >= 0).all() and (res.x <= 1).all()


def test_random_directions_are_maximised_and_retrieved(model, test_set, test_set_activations):
    res = maximize_activation(model, "model.penultimate.2", kind="direction", n_directions=3, dataset=test_set[:2000],
                              steps=60, top_k=4, seed=5)
    assert (res.activation > res.top.maximum).all()
    assert (res.top.values[:, :-1] >= res.top.values[:, 1:]).all()  # sorted, best first
    feats = test_set_activations["model.penultimate.2"][:2000]
    # the retrieved values are the direction's projections of those very images
    gen = torch.Generator().manual_seed(5)
    v = torch.randn(3, feats.shape[1], generator=gen)
    v = v / v.norm(dim=1, keepdim=True)
    proj = feats @ v.T
    assert torch.allclose(res.top.values, proj.T.gather(1, res.top.indices), atol=1e-5)


def test_fourier_jitter_scale_run_raises_the_channel_and_repeats_bit_for_bit(model):
    kw = dict(kind="channel", indices=[3, 6], steps=40, parametrization="fourier", jitter=2, scales=[0.9, 1.0, 1.1],
              seed=2)
    a = maximize_activation(model, "model.features.4", **kw)
    b = maximize_activation(model, "model.features.4", **kw)
    assert torch.equal(a.x, b.x)
    assert (a.activation > 2 * a.start_activation).all() and (a.activation > 0.3).all()


def test_top_images_match_a_brute_force_ranking(model, fmnist):
    x = fmnist[0][:300]
    probe = Channel("model.features.1", torch.tensor([0, 7]))
    top = top_dataset_images(model, x, probe, 2, k=5, batch_size=64)
    per = _activations(model, x, "model.features.1").flatten(2).mean(2)[:, [0, 7]]
    assert torch.equal(top.indices, per.T.topk(5, dim=1).indices)
    assert torch.equal(top.images[1, 0], x[top.indices[1, 0]])


def test_unit_channel_direction_agree_on_a_dense_layer():
    feats = torch.randn(4, 6)
    samples = torch.arange(4)
    e2 = torch.zeros(6)
    e2[2] = 1.0
    u = Unit("l", 2).value(feats, samples)
    assert torch.equal(u, Channel("l", 2).value(feats, samples))
    assert torch.allclose(u, Direction("l", e2).value(feats, samples))
    with pytest.raises(ValueError, match="out of range"):
        Unit("l", 6).value(feats, samples)


def test_transform_is_applied_before_the_model_and_objective_sees_the_input(bn_net):
    """optimize(transform=...): the model gets t(x); ev.x, the kept iterate and the model state are untouched."""
    seen = {}

    class Spy(nn.Module):
        def forward(self, x):
            seen["input"] = x.detach().clone()
            return bn_net(x)

    x = torch.rand(2, 1, 28, 28)
    shift = lambda z: torch.roll(z, shifts=(3, -2), dims=(-2, -1))  # noqa: E731
    obj_inputs = []

    def objective(ev):
        obj_inputs.append(ev.x.detach().clone())
        return ev.logits[:, 0]

    res = optimize(Spy(), x, objective, step=Adam(0.0), steps=0, transform=shift)
    assert torch.equal(seen["input"], shift(x))
    assert torch.equal(obj_inputs[0], x) and torch.equal(res.x, x)
    assert bn_net.training


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), pixels=st.integers(0, 5), c=st.sampled_from([1, 3]),
       h=st.integers(6, 20), w=st.integers(6, 20))
def test_jitter_permutes_pixels_and_fourier_round_trips(seed, pixels, c, h, w):
    x = torch.rand(2, c, h, w, generator=torch.Generator().manual_seed(seed)) * 0.98 + 0.01
    j = Jitter(pixels, seed=seed)(x)
    assert torch.equal(j.flatten().sort().values, x.flatten().sort().values)
    assert RandomScale([0.8, 1.2], seed=seed)(x).shape == x.shape
    p = Fourier()
    assert torch.allclose(p.to_input(p.to_variable(x)), x, atol=1e-4)


def test_maximize_command_writes_grid_and_json(tmp_path):
    out = tmp_path / "max"
    assert main(["maximize", "--out", str(out), "--layer", "model.penultimate.2", "--kind", "unit",
                 "--indices", "1,2", "--steps", "30", "-n", "500", "--top-k", "3", "--quiet"]) == 0
    data = json.loads((out / "maximize.json").read_text())
    assert [p["probe"] for p in data["probes"]] == ["unit 1", "unit 2"]
    assert all(len(p["top_indices"]) == 3 and p["synthesised_activation"] > p["start_activation"] for p in data["probes"])
    assert (out / "maximize.png").stat().st_size > 3000


def test_a_unit_silent_at_the_start_is_reached_through_its_pre_activation():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(16, 3), nn.ReLU(), nn.Linear(3, 2))
    with torch.no_grad():  # z = 0.2·Σx − 2: off at the grey start (z ≈ −0.4), on near x = 1 (z ≤ 1.2)
        net[1].weight.fill_(0.2)
        net[1].bias.fill_(-2.0)
    kw = dict(kind="unit", indices=[0, 1, 2], image_shape=(1, 4, 4), steps=150, step_size=0.05)
    plain = maximize_activation(net, "2", pre_activation=False, **kw)
    through = maximize_activation(net, "2", **kw)
    assert (plain.activation == 0).all()  # a dead ReLU passes no gradient
    assert (through.activation > 0).all()
