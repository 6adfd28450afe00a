"""Projections: feasibility, idempotence, non-expansiveness and optimality (hypothesis)."""
from __future__ import annotations

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from robustgan.optim import projections as P

NORMS = [1.0, 2.0, math.inf]


def _case(seed: int, n: int, d: int, eps_scale: float):
    g = torch.Generator().manual_seed(seed)
    center = torch.rand(n, d, generator=g, dtype=torch.float64)
    x = center + (torch.rand(n, d, generator=g, dtype=torch.float64) - 0.5) * 3
    eps = torch.rand(n, generator=g, dtype=torch.float64) * eps_scale
    return x, center, eps


def _inside_point(center, eps, p, seed):
    """A random point of ball ∩ box (shrink a random box point toward the centre)."""
    g = torch.Generator().manual_seed(seed + 1)
    z = torch.rand(center.shape, generator=g, dtype=torch.float64)
    d = z - center
    norm = P.lp_norm(d, p).clamp_min(1e-12)
    shrink = torch.clamp(eps / norm, max=1.0) * torch.rand(center.shape[0], generator=g, dtype=torch.float64)
    return center + d * shrink[:, None]


cases = dict(seed=st.integers(0, 10_000), n=st.integers(1, 6), d=st.integers(1, 40),
             eps_scale=st.sampled_from([0.0, 0.05, 0.5, 3.0]), p=st.sampled_from(NORMS),
             with_box=st.booleans())


@settings(max_examples=150, deadline=None)
@given(**cases)
def test_projection_is_feasible_idempotent_and_optimal(seed, n, d, eps_scale, p, with_box):
    x, c, eps = _case(seed, n, d, eps_scale)
    proj = (lambda v: P.project_ball_box(v, c, eps, p, 0.0, 1.0)) if with_box else (lambda v: P.project_ball(v, c, eps, p))
    y = proj(x)
    tol = 1e-7
    assert (P.lp_norm(y - c, p) <= eps * (1 + 1e-9) + tol).all()
    if with_box:
        assert ((y >= -tol) & (y <= 1 + tol)).all()
    # idempotent
    assert torch.allclose(proj(y), y, atol=1e-9)
    # never moves away from a point of the set (non-expansive toward feasible points) and satisfies
    # the variational inequality <x − P(x), z − P(x)> ≤ 0 that characterises the exact projection
    z = _inside_point(c, eps, p, seed)
    if with_box:
        z = z.clamp(0, 1)
        z = P.project_ball_box(z, c, eps, p, 0.0, 1.0)
    assert (P.lp_norm(y - z, 2) <= P.lp_norm(x - z, 2) + 1e-7).all()
    assert (((x - y) * (z - y)).sum(dim=1) <= 1e-6 * (1 + P.lp_norm(x - y, 2))).all()


@settings(max_examples=60, deadline=None)
@given(**cases)
def test_points_inside_are_left_alone(seed, n, d, eps_scale, p, with_box):
    _, c, eps = _case(seed, n, d, eps_scale)
    z = _inside_point(c, eps, p, seed)
    if with_box:
        assert torch.allclose(P.project_ball_box(z, c, eps, p, 0.0, 1.0), z, atol=1e-12)
    else:
        assert torch.allclose(P.project_ball(z, c, eps, p), z, atol=1e-12)


def test_l2_box_projection_beats_sequential_clipping():
    """Clip-to-ball-then-box is not the projection for L2; ours is strictly closer when they differ."""
    c = torch.tensor([[0.9, 0.5]], dtype=torch.float64)
    x = torch.tensor([[2.0, 1.5]], dtype=torch.float64)
    eps = torch.tensor([0.5], dtype=torch.float64)
    exact = P.project_l2_box(x, c, eps, 0.0, 1.0)
    naive = P.project_l2(x, c, eps).clamp(0, 1)
    assert P.lp_norm(exact - c, 2) <= 0.5 + 1e-9
    assert P.lp_norm(x - exact, 2) < P.lp_norm(x - naive, 2) - 1e-3
