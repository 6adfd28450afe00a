"""Logit losses, checked on logits small enough to compute by hand, and their composition rules."""
import math

import pytest
import torch

from robustgan.objectives import (DLR, CrossEntropy, Distance, LogitGap, Margin, Probability, TargetedDLR,
                                  TargetMargin, as_objective, other_max)
from robustgan.optim.state import Evaluation

LOGITS = torch.tensor([[3.0, 1.0, 0.0, -1.0],
                       [-2.0, -0.5, -3.0, -1.0]])
LABELS = torch.tensor([0, 3])


def ev(logits=LOGITS, target=LABELS, x=None, origin=None):
    x = torch.zeros(logits.shape[0], 1, 2, 2) if x is None else x
    origin = torch.zeros_like(x) if origin is None else origin
    return Evaluation(x=x, logits=logits, origin=origin, samples=torch.arange(logits.shape[0]), target=target)


def test_other_max_masks_with_minus_infinity_so_all_negative_logits_work():
    # row 1 is all negative: masking with zeros would wrongly report 0
    assert other_max(LOGITS, LABELS).tolist() == [1.0, -0.5]


def test_cross_entropy_is_log_sum_exp_minus_the_label_logit():
    want = [math.log(sum(math.exp(v) for v in row)) - row[t] for row, t in zip(LOGITS.tolist(), LABELS.tolist())]
    assert torch.allclose(CrossEntropy()(ev()), torch.tensor(want))


def test_margin_and_target_margin_clip_at_minus_confidence():
    # z_y - max_other: row 0: 3 - 1 = 2; row 1: -1 - (-0.5) = -0.5
    assert Margin()(ev()).tolist() == [2.0, 0.0]
    assert Margin(confidence=1.0)(ev()).tolist() == [2.0, -0.5]
    assert TargetMargin(confidence=5.0)(ev()).tolist() == [-2.0, 0.5]


def test_dlr_divides_the_margin_by_the_first_minus_third_largest_logit():
    # row 0: -(3 - 1) / (3 - 0); row 1: sorted -0.5, -1, -2, -3: -(-1 - (-0.5)) / (-0.5 + 2)
    assert torch.allclose(DLR()(ev()), torch.tensor([-2.0 / 3.0, 0.5 / 1.5]))


def test_dlr_is_invariant_to_scaling_the_logits():
    assert torch.allclose(DLR()(ev(LOGITS * 7.0)), DLR()(ev()))


def test_targeted_dlr_and_logit_gap_read_the_per_sample_targets():
    targets = torch.tensor([2, 1])
    # row 0: -(3 - 0) / (3 - (0 + -1)/2) ; row 1: sorted -0.5, -1, -2, -3: -(-1 + 0.5)/(-0.5 + 2.5)
    want = torch.tensor([-3.0 / 3.5, 0.5 / 2.0])
    assert torch.allclose(TargetedDLR(targets)(ev()), want)
    assert LogitGap(targets)(ev()).tolist() == [3.0, -0.5]


def test_probability_is_the_softmax_of_the_target():
    assert torch.allclose(Probability()(ev()), torch.softmax(LOGITS, 1)[[0, 1], [0, 3]])


def test_distance_in_each_norm():
    x = torch.tensor([[[[3.0, 4.0], [0.0, 0.0]]]])
    e = ev(LOGITS[:1], LABELS[:1], x=x)
    assert Distance(2, squared=True)(e).item() == 25.0
    assert Distance(2)(e).item() == pytest.approx(5.0)
    assert Distance(1)(e).item() == 7.0
    assert Distance(float("inf"))(e).item() == 4.0


def test_composition_adds_scales_and_negates_per_row():
    combined = -CrossEntropy() + 0.5 * Margin() - Margin()
    want = -CrossEntropy()(ev()) - 0.5 * Margin()(ev())
    assert torch.allclose(combined(ev()), want)


def test_a_tensor_weight_holds_one_value_per_sample_gathered_through_samples():
    weights = torch.tensor([1.0, 10.0])
    e = Evaluation(x=torch.zeros(3, 1, 2, 2), logits=LOGITS[[0, 1, 1]], origin=torch.zeros(3, 1, 2, 2),
                   samples=torch.tensor([0, 1, 1]), target=LABELS[[0, 1, 1]])
    assert (weights * Margin())(e).tolist() == [2.0, 0.0, 0.0]
    assert (Margin(confidence=1.0) * weights)(e).tolist() == [2.0, -5.0, -5.0]


def test_composition_unions_the_layers_terms_read():
    a, b = as_objective(lambda e: e.logits[:, 0]), CrossEntropy()
    a.layers = frozenset({"conv1"})
    assert (a + 2.0 * b).layers == frozenset({"conv1"})


@pytest.mark.parametrize("objective", [CrossEntropy(), Margin(), DLR(), Probability()])
def test_label_objectives_refuse_missing_or_float_targets(objective):
    with pytest.raises(ValueError, match="needs a target"):
        objective(ev(target=None))
    with pytest.raises(TypeError, match="integer class indices"):
        objective(ev(target=LABELS.float()))


def test_dlr_needs_three_classes_and_targeted_dlr_four():
    with pytest.raises(ValueError, match="at least 3 classes"):
        DLR()(ev(LOGITS[:, :2], torch.tensor([0, 1])))
    with pytest.raises(ValueError, match="at least 4 classes"):
        TargetedDLR(torch.tensor([1, 0]))(ev(LOGITS[:, :3], torch.tensor([0, 1])))


def test_gradients_point_the_way_an_attack_climbs():
    logits = LOGITS.clone().requires_grad_(True)
    CrossEntropy()(ev(logits)).sum().backward()
    # raising the label's logit lowers CE; raising another class's logit raises it
    assert (logits.grad[[0, 1], [0, 3]] < 0).all()
    assert (logits.grad[0, 1:] > 0).all()
