"""The crafting recipes: feature inversion (D_R / D_NR) and targeted L2 PGD (D_rand / D_det)."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from robustgan.features import choose_targets, feature_layer, match_features, targeted_l2
from robustgan.visualize import layer_features


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}, model.training


def test_inversion_matches_the_features_of_the_original_from_another_image(model, fmnist):
    x, y = fmnist
    orig, start = x[:8], x[8:16]
    layer = feature_layer(model)
    assert layer == "model.penultimate"
    before = _state(model)
    out, loss = match_features(model, orig, start, steps=40, step_size=0.5)
    goal = layer_features(model, orig, layer)
    rel = lambda z: ((layer_features(model, z, layer) - goal).flatten(1).norm(dim=1) / goal.flatten(1).norm(dim=1))
    assert bool((rel(out) < 0.5 * rel(start)).all())  # every image moved most of the way in feature space
    assert float(rel(out).median()) < 0.3
    assert torch.allclose(loss, rel(out) ** 2, atol=1e-4)  # the reported loss is the kept image's
    assert bool((out >= 0).all() and (out <= 1).all())
    # still far from the original in pixels: the start image, not a copy of the original
    assert float((out - orig).flatten(1).norm(dim=1).min()) > 1.0
    state, mode = _state(model)
    assert mode == before[1] and all(torch.equal(state[k], before[0][k]) for k in state)
    again, _ = match_features(model, orig, start, steps=40, step_size=0.5)
    assert torch.equal(out, again)


def test_targeted_l2_pushes_toward_the_target_inside_the_ball(model, fmnist):
    x, y = fmnist
    x, y = x[:16], y[:16]
    t = choose_targets(y, "det", 10)
    out, reached = targeted_l2(model, x, t, eps=2.0, steps=30, step_size=0.1)
    dist = (out - x).flatten(1).norm(dim=1)
    assert bool((dist <= 2.0 + 1e-4).all()) and bool((out >= 0).all() and (out <= 1).all())
    with torch.no_grad():
        pred = model(out).argmax(1)
    assert torch.equal(pred == t, reached)
    assert float(reached.float().mean()) > 0.6
    with torch.no_grad():
        p_before = torch.softmax(model(x), 1).gather(1, t[:, None])
        p_after = torch.softmax(model(out), 1).gather(1, t[:, None])
    assert bool((p_after >= p_before).all())


@settings(max_examples=40, deadline=None)
@given(labels=st.lists(st.integers(0, 9), min_size=1, max_size=50), seed=st.integers(0, 2 ** 31 - 1))
def test_targets_differ_from_the_label_and_det_is_a_shift(labels, seed):
    y = torch.tensor(labels)
    rand = choose_targets(y, "rand", 10, torch.Generator().manual_seed(seed))
    assert bool((rand != y).all()) and int(rand.min()) >= 0 and int(rand.max()) <= 9
    assert torch.equal(rand, choose_targets(y, "rand", 10, torch.Generator().manual_seed(seed)))
    assert torch.equal(choose_targets(y, "det", 10), (y + 1) % 10)


def test_recipes_reject_bad_input(model, fmnist):
    x, _ = fmnist
    with pytest.raises(ValueError, match="unknown layer"):
        feature_layer(model, "nope")
    with pytest.raises(ValueError, match="same shape"):
        match_features(model, x[:2], x[:3])
    with pytest.raises(ValueError, match="'rand' or 'det'"):
        choose_targets(torch.tensor([1]), "other", 10)
