"""Feature inversion: error falls with steps, the TV prior smooths at a comparable error, priors' properties."""
from __future__ import annotations

import json

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from robustgan.cli import main
from robustgan.objectives import AlphaNorm, FeatureMatch, TotalVariation, mahendran_normalizers, total_variation
from robustgan.optim import Evaluation
from robustgan.visualize import invert_features

LAYER = "model.penultimate.2"


def _ev(x, features=None):
    n = x.shape[0]
    return Evaluation(x=x, logits=torch.zeros(n, 2), origin=x, samples=torch.arange(n), features=features or {})


def test_reconstruction_error_decreases_with_more_steps(model, fmnist):
    x = fmnist[0][:3]
    short = invert_features(model, x, "model.features.4", steps=15, seed=0)
    long = invert_features(model, x, "model.features.4", steps=150, seed=0)
    assert (long.error < short.error).all(), (short.error, long.error)
    assert long.trace[-1] < long.trace[0]
    assert long.x.shape == x.shape and (long.x >= 0).all() and (long.x <= 1).all()


def test_tv_prior_lowers_tv_at_a_comparable_feature_error(model, fmnist):
    x = fmnist[0][:3]
    plain = invert_features(model, x, LAYER, steps=150, lambda_tv=0.0, lambda_alpha=0.0, seed=0)
    smooth = invert_features(model, x, LAYER, steps=150, lambda_tv=0.05, lambda_alpha=0.0, seed=0)
    assert (smooth.tv < 0.3 * plain.tv).all(), (plain.tv, smooth.tv)
    # comparable: both codes are matched closely, the prior costs at most a few points of error
    assert (plain.error < 0.2).all() and (smooth.error < 0.2).all()
    assert (smooth.error - plain.error).abs().max() < 0.1, (plain.error, smooth.error)


@settings(max_examples=25, deadline=None)
@given(c=st.floats(0.1, 10), beta=st.floats(1.0, 3.0), seed=st.integers(0, 1000))
def test_total_variation_is_shift_invariant_and_beta_homogeneous(c, beta, seed):
    x = torch.rand(2, 3, 7, 9, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    tv = total_variation(x, beta, eps=0.0)
    assert torch.allclose(total_variation(x + 0.3, beta, eps=0.0), tv)
    assert torch.allclose(total_variation(c * x, beta, eps=0.0), c ** beta * tv, rtol=1e-6)
    assert torch.allclose(total_variation(torch.full_like(x, 0.7), beta, eps=0.0), torch.zeros(2, dtype=x.dtype))


def test_total_variation_of_a_ramp_and_the_normalised_priors():
    ramp = torch.arange(5.0).repeat(4, 1)[None, None]  # x_ij = j: every horizontal difference is 1
    assert float(total_variation(ramp)) == (4 - 1) * (5 - 1)
    assert float(TotalVariation(2.0, 12.0)(_ev(ramp))) == 1.0
    a, v = mahendran_normalizers((1, 4, 5), alpha=6, beta=2, pixel_range=2.0)
    assert a == 20 * 2.0 ** 6 and abs(v - 20 * (2.0 / 6.5) ** 2) < 1e-12
    x = torch.full((1, 1, 2, 2), 0.75)
    assert abs(float(AlphaNorm(2, center=0.25)(_ev(x))) - 4 * 0.25) < 1e-6


@settings(max_examples=25, deadline=None)
@given(scale=st.floats(0.01, 100), seed=st.integers(0, 1000))
def test_feature_match_is_normalised_and_zero_at_the_target(scale, seed):
    g = torch.Generator().manual_seed(seed)
    target, phi = torch.randn(3, 4, 5, generator=g), torch.randn(3, 4, 5, generator=g)
    x = torch.zeros(3, 1)
    assert torch.allclose(FeatureMatch("l", target)(_ev(x, {"l": target})), torch.zeros(3), atol=1e-6)
    a = FeatureMatch("l", target)(_ev(x, {"l": phi}))
    b = FeatureMatch("l", scale * target)(_ev(x, {"l": scale * phi}))
    assert torch.allclose(a, b, rtol=1e-4)
    expected = ((phi - target) ** 2).flatten(1).sum(1) / (target ** 2).flatten(1).sum(1)
    assert torch.allclose(a, expected, rtol=1e-5)


def test_invert_command_writes_a_grid_of_at_least_three_layers(tmp_path):
    out = tmp_path / "inv"
    assert main(["invert-features", "--out", str(out), "--steps", "40", "--indices", "0,1", "--quiet"]) == 0
    data = json.loads((out / "invert-features.json").read_text())
    layers = [entry["layer"] for entry in data["layers"]]
    assert len(layers) >= 3 and layers[0].startswith("model.features") and layers[-1] == "model.classifier"
    for entry in data["layers"]:
        assert len(entry["feature_error"]) == 2 and all(0 <= e < 1.5 for e in entry["feature_error"])
    assert (out / "inversion.png").stat().st_size > 5000
