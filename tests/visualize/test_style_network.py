"""Feed-forward style transfer: the transformation network, its training (and resume), the comparison."""
from __future__ import annotations

import pytest
import torch

from robustgan.data import load_dataset
from robustgan.visualize.style_compare import compare_style_transfer
from robustgan.visualize.style_network import StyleObjective, TransformNet, default_style_image, stylize
from robustgan.visualize.style_network_train import load_style_network, train_style_network

SMALL = dict(batch_size=4, width=8, blocks=1, progress=False)


@pytest.fixture(scope="module")
def data():
    """Fashion-MNIST content images and `robustgan style`'s default style image."""
    ds, _ = load_dataset("fashion-mnist", "test")
    return ds.tensors[0][:64].float(), default_style_image()


def test_transform_net_keeps_the_shape_and_the_unit_range():
    net = TransformNet(channels=1, width=4, blocks=2)
    x = torch.rand(3, 1, 28, 28)
    y = stylize(net.train(), x, batch_size=2)
    assert y.shape == x.shape and float(y.min()) >= 0 and float(y.max()) <= 1
    assert net.training  # stylize hands the mode back
    with pytest.raises(ValueError, match="even H and W"):
        net(torch.rand(1, 1, 27, 27))


def test_a_few_training_steps_lower_the_combined_loss(data):
    x, style = data
    held = x[-8:]
    run = train_style_network(x[:-8], style, steps=12, **SMALL)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        untrained = TransformNet(1, 8, 1)
    objective = run.objective
    with torch.no_grad():
        before, after = objective(stylize(untrained, held), held), objective(stylize(run.net, held), held)
    assert float(after.mean()) < float(before.mean())
    assert run.history[-1]["loss"] < run.history[0]["loss"] and len(run.history) == 12


def test_resumed_training_is_bit_identical_and_the_checkpoint_loads(data, tmp_path):
    x, style = data
    path = tmp_path / "style_net.pt"
    straight = train_style_network(x, style, steps=4, **SMALL)
    train_style_network(x, style, steps=2, checkpoint=path, **SMALL)
    resumed = train_style_network(x, style, steps=4, checkpoint=path, resume=True, **SMALL)
    assert resumed.history == straight.history
    a, b = straight.net.state_dict(), resumed.net.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    loaded = load_style_network(path)
    assert all(torch.equal(a[k], loaded.state_dict()[k]) for k in a)
    with pytest.raises(ValueError, match="settings differ"):
        train_style_network(x, style, steps=5, checkpoint=path, resume=True, **{**SMALL, "width": 4})


def test_comparison_with_optimisation_reports_time_and_losses(data):
    x, style = data
    run = train_style_network(x, style, steps=2, **SMALL)
    report = compare_style_transfer(run.net, run.objective, x[:2], style, steps=3)
    assert report["images"] == 2 and report["speedup"] > 1
    for method in ("feed_forward", "optimisation"):
        assert report[method]["seconds_per_image"] > 0 and report[method]["style_loss"] >= 0
    assert report["optimisation"]["style_loss"] < report["content_start"]["style_loss"]


def test_objective_values_are_per_image_and_zero_content_loss_at_the_content(data):
    x, style = data
    objective = StyleObjective(style, 1, content_weight=1.0, style_weight=10.0)
    content, gram = objective.terms(x[:3], x[:3])
    assert content.shape == gram.shape == (3,) and float(content.abs().max()) < 1e-6
