"""Priors, Gram statistics and layer objectives, on inputs small enough to compute by hand."""
import pytest
import torch

from robustgan.objectives import (AlphaNorm, BlurPenalty, Channel, Direction, FeatureMatch, GramLoss, LayerEnergy,
                                  TotalVariation, Unit, gram, mahendran_normalizers, total_variation)
from robustgan.optim.state import Evaluation

IMAGE = torch.tensor([[[[0.0, 1.0], [2.0, 4.0]]]])  # (1, 1, 2, 2)


def ev(x=IMAGE, features=None, samples=None):
    samples = torch.arange(x.shape[0]) if samples is None else samples
    return Evaluation(x=x, logits=torch.zeros(x.shape[0], 3), origin=torch.zeros_like(x), samples=samples,
                      features=features or {})


def test_total_variation_is_the_sum_of_squared_forward_differences():
    # one interior point (0, 0): dx = 1 - 0, dy = 2 - 0 -> 1 + 4
    assert total_variation(IMAGE).item() == 5.0
    assert total_variation(IMAGE, beta=1.0).item() == pytest.approx(5.0 ** 0.5, rel=1e-6)
    assert TotalVariation(beta=2.0, normalizer=5.0)(ev()).item() == 1.0


def test_total_variation_is_zero_on_a_flat_image_and_refuses_non_images():
    assert total_variation(torch.full((2, 3, 5, 5), 0.3)).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="needs images"):
        total_variation(torch.zeros(2, 5))


def test_alpha_norm_around_a_center():
    assert AlphaNorm(alpha=2.0)(ev()).item() == 0 + 1 + 4 + 16
    assert AlphaNorm(alpha=1.0, center=1.0)(ev()).item() == 1 + 0 + 1 + 3
    with pytest.raises(ValueError):
        AlphaNorm(alpha=0.5)


def test_mahendran_normalizers_scale_with_image_area():
    a, b = mahendran_normalizers((1, 1, 4, 8), alpha=6.0, beta=2.0, pixel_range=1.0, v_ratio=2.0)
    assert a == 32.0 and b == 32.0 * 0.25


def test_blur_penalty_ignores_flat_images_and_punishes_checkerboards():
    flat = torch.full((1, 1, 6, 6), 0.5)
    checker = (torch.arange(36).reshape(6, 6) % 2 == (torch.arange(6)[:, None] % 2)).float()[None, None]
    assert BlurPenalty(1.0)(ev(flat)).item() == pytest.approx(0.0, abs=1e-10)
    assert BlurPenalty(1.0)(ev(checker)).item() > 1.0


def test_gram_averages_channel_products_over_positions():
    f = torch.tensor([[[[1.0, 2.0]], [[3.0, 0.0]]]])  # (1, C=2, 1, 2)
    assert gram(f).tolist() == [[[2.5, 1.5], [1.5, 4.5]]]


def test_gram_loss_is_zero_at_its_target_and_weighs_layers():
    f = torch.randn(2, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    loss = GramLoss({"a": gram(f)})
    assert loss(ev(torch.zeros(2, 1, 2, 2), {"a": f})).abs().max().item() < 1e-12
    assert loss.layers == frozenset({"a"})
    with pytest.raises(ValueError, match="without a target"):
        GramLoss({"a": gram(f)}, weights={"b": 1.0})


def test_feature_match_is_the_normalised_squared_distance():
    target = torch.tensor([[3.0, 4.0]])
    got = FeatureMatch("fc", target)(ev(torch.zeros(1, 1, 2, 2), {"fc": torch.tensor([[0.0, 4.0]])}))
    assert got.item() == pytest.approx(9.0 / 25.0)


def test_unit_channel_direction_and_energy_read_the_tapped_layer():
    feats = torch.arange(8.0).reshape(1, 2, 2, 2)  # channel 0: 0..3, channel 1: 4..7
    e = ev(torch.zeros(1, 1, 2, 2), {"conv": feats})
    assert Unit("conv", 5)(e).item() == 5.0
    assert Channel("conv", 1)(e).item() == 5.5
    assert Direction("conv", torch.tensor([1.0, -1.0]))(e).item() == 1.5 - 5.5
    assert LayerEnergy("conv")(e).item() == pytest.approx(0.5 * sum(v * v for v in range(8)) / 8)


def test_per_sample_indices_are_gathered_through_samples():
    feats = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    e = ev(torch.zeros(3, 1, 2, 2), {"fc": feats}, samples=torch.tensor([0, 1, 1]))
    assert Unit("fc", torch.tensor([0, 1]))(e).tolist() == [1.0, 4.0, 6.0]


def test_layer_objectives_fail_clearly():
    e = ev(torch.zeros(1, 1, 2, 2), {"conv": torch.zeros(1, 2, 2, 2)})
    with pytest.raises(ValueError, match="was not tapped"):
        Unit("fc", 0)(e)
    with pytest.raises(ValueError, match="out of range"):
        Channel("conv", 2)(e)
    with pytest.raises(ValueError, match="non-negative"):
        Unit("conv", -1)
    with pytest.raises(TypeError, match="module name"):
        Unit(3, 0)
