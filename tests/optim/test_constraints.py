"""The constraint objects the loop projects onto: Box, Ball, their intersection, radii and norm names."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from robustgan.optim import Ball, Box, L1Ball, L2Ball, LinfBall, parse_norm
from robustgan.optim.projections import lp_norm


def test_box_projects_by_clamping_and_reports_membership():
    box = Box()
    x = torch.tensor([[-0.5, 0.25, 1.5]])
    assert box.project(x, x, None).tolist() == [[0.0, 0.25, 1.0]]
    assert box.contains(torch.tensor([[0.0, 1.0], [0.0, 1.1]]), x, None).tolist() == [True, False]
    assert box.radii(2, torch.device("cpu"), torch.float32) is None


def test_a_box_needs_lo_below_hi():
    with pytest.raises(ValueError, match="lo < hi"):
        Box(1.0, 1.0)


def test_ball_and_box_intersect_either_way_round():
    for both in (LinfBall(0.1) & Box(), Box() & LinfBall(0.1)):
        assert isinstance(both, Ball) and both.p == math.inf and both.box == Box()


def test_named_balls_and_norm_names_agree():
    assert (L1Ball(1).p, L2Ball(1).p, LinfBall(1).p) == (1, 2, math.inf)
    for name, p in [("linf", math.inf), ("Linf", math.inf), ("inf", math.inf), ("l2", 2.0), ("2", 2.0),
                    ("l1", 1.0), (2, 2.0), (math.inf, math.inf)]:
        assert parse_norm(name) == p
    for bad in ("l3", "max", 0, 3):
        with pytest.raises(ValueError, match="norm must be one of"):
            parse_norm(bad)


def test_a_ball_refuses_other_norms_and_negative_radii():
    with pytest.raises(ValueError, match="p must be"):
        Ball(3, 0.1)
    with pytest.raises(ValueError):
        Ball(2, -0.1)
    with pytest.raises(ValueError):
        Ball(2, torch.tensor([0.1, float("nan")]))


def test_per_sample_radii_broadcast_a_float_and_keep_a_tensor():
    assert Ball(2, 0.5).radii(3, torch.device("cpu"), torch.float64).tolist() == [0.5] * 3
    radii = torch.tensor([0.1, 0.2])
    assert Ball(2, radii).radii(2, torch.device("cpu"), torch.float32).tolist() == pytest.approx([0.1, 0.2])


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), p=st.sampled_from([1.0, 2.0, math.inf]),
       eps=st.floats(0.0, 2.0), with_box=st.booleans())
def test_projection_lands_inside_and_contains_agrees(seed, p, eps, with_box):
    g = torch.Generator().manual_seed(seed)
    origin = torch.rand(4, 1, 3, 3, generator=g, dtype=torch.float64)
    x = origin + 2 * torch.randn(origin.shape, generator=g, dtype=torch.float64)
    ball = Ball(p, eps) & Box() if with_box else Ball(p, eps)
    radius = ball.radii(4, origin.device, origin.dtype)
    inside = ball.project(x, origin, radius)
    assert ball.contains(inside, origin, radius).all()
    assert (lp_norm(inside - origin, p) <= eps * (1 + 1e-6) + 1e-6).all()
    if with_box:
        assert inside.min() >= 0 and inside.max() <= 1
