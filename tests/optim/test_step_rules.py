"""The generic step rules, one step at a time on hand-made gradients: values, per-row state, sizes."""
import pytest
import torch

from robustgan.optim.steps import Adam, GradientDescent, Momentum, Sign, steepest

W = torch.zeros(2, 1, 1, 2)
GRAD = torch.tensor([[[[3.0, -4.0]]], [[[0.5, 0.0]]]])
SAMPLES = torch.arange(2)


def one_step(rule, w=W, grad=GRAD, rows=None):
    rule.reset(w, SAMPLES)
    return rule.step(w, grad, rows)


def test_gradient_descent_sign_and_l2_steps_descend():
    assert one_step(GradientDescent(0.1)).flatten().tolist() == pytest.approx([-0.3, 0.4, -0.05, 0.0])
    assert one_step(Sign(0.1)).flatten().tolist() == pytest.approx([-0.1, 0.1, -0.1, 0.0])
    # g / ‖g‖₂ per row: (3, -4)/5 and (1, 0)
    assert one_step(steepest(2, 0.5)).flatten().tolist() == pytest.approx([-0.3, 0.4, -0.5, 0.0])


def test_steepest_picks_the_rule_of_the_geometry():
    assert isinstance(steepest(float("inf"), 0.1), Sign)
    with pytest.raises(ValueError, match="no steepest-descent step"):
        steepest(1, 0.1)


def test_a_per_sample_step_size_scales_each_row():
    out = one_step(Sign(torch.tensor([0.1, 1.0])))
    assert out.flatten().tolist() == pytest.approx([-0.1, 0.1, -1.0, 0.0])


def test_a_step_on_some_rows_uses_those_rows_sizes():
    rule = Sign(torch.tensor([0.1, 1.0]))
    rule.reset(W, SAMPLES)
    out = rule.step(W[1:], GRAD[1:], torch.tensor([1]))
    assert out.flatten().tolist() == pytest.approx([-1.0, 0.0])


def test_sizes_must_be_finite_and_non_negative():
    for bad in (-0.1, float("nan")):
        with pytest.raises(ValueError, match="step size"):
            Sign(bad)
    with pytest.raises(ValueError, match="step size"):
        Sign(torch.tensor([0.1, -1.0]))


def test_momentum_accumulates_normalised_gradients_per_row():
    rule = Momentum(0.1, decay=0.5)
    rule.reset(W, SAMPLES)
    first = rule.step(W, GRAD, None)
    assert first.flatten().tolist() == pytest.approx([-0.1, 0.1, -0.1, 0.0])
    # a reversed gradient half the size: velocity (g/mean|g|)·(−1) + 0.5·v₀ keeps the old sign only where |v₀|/2 wins
    v0 = GRAD / GRAD.abs().mean(dim=(1, 2, 3), keepdim=True)
    flipped = -GRAD
    v1 = flipped / flipped.abs().mean(dim=(1, 2, 3), keepdim=True) + 0.5 * v0
    assert torch.equal(rule.step(W, flipped, None), -0.1 * v1.sign())


def test_adam_first_step_moves_each_coordinate_by_about_the_step_size():
    out = one_step(Adam(0.01))
    # bias-corrected m̂/√v̂ = sign(g) on the first step
    assert out.flatten().tolist() == pytest.approx([-0.01, 0.01, -0.01, 0.0], abs=1e-6)


def test_adam_keeps_moments_per_row_when_only_some_rows_step():
    rule = Adam(0.01)
    rule.reset(W, SAMPLES)
    rule.step(W[:1], GRAD[:1], torch.tensor([0]))
    assert rule._t.tolist() == [1.0, 0.0]
    # row 1's first step is still a first step: a full-size move
    out = rule.step(W[1:], GRAD[1:], torch.tensor([1]))
    assert out.flatten()[0].item() == pytest.approx(-0.01, abs=1e-6)


def test_memoryless_rules_are_the_ones_cycle_retirement_may_trust():
    assert Sign.memoryless and GradientDescent.memoryless and steepest(2, 0.1).memoryless
    assert not Momentum.memoryless and not Adam.memoryless
