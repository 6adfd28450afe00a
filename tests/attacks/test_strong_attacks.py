"""APGD, APGD-T, FAB-T and Square: constraints, strength against the peers, and their step rules."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import attacks
from robustgan.optim import APGD, Ball, Box, apgd_checkpoints, lp_norm, optimize
from robustgan.optim.rules.hyperplane import project_onto_hyperplane

INF = float("inf")


def _acc(model, x, y):
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def _inside(res, x, eps, p):
    assert (lp_norm(res.x - x, p) <= eps * (1 + 1e-5) + 1e-6).all()
    assert res.x.min() >= 0 and res.x.max() <= 1


@pytest.mark.parametrize("norm,eps", [("linf", 0.03), ("l2", 0.5)])
def test_apgd_is_at_least_as_strong_as_torchattacks(model, fmnist, norm, eps):
    torchattacks = pytest.importorskip("torchattacks")
    x, y = fmnist[0][:200], fmnist[1][:200]
    ours = attacks.apgd(model, x, y, eps, norm=norm, steps=20, seed=0)
    theirs = torchattacks.APGD(model, norm="Linf" if norm == "linf" else "L2", eps=eps, steps=20, seed=0)(x, y)
    _inside(ours, x, eps, INF if norm == "linf" else 2)
    assert _acc(model, ours.x, y) <= _acc(model, theirs, y) + 0.01
    assert _acc(model, ours.x, y) < _acc(model, x, y) - 0.2


def test_apgd_targeted_and_fab_match_torchattacks(model, fmnist):
    torchattacks = pytest.importorskip("torchattacks")
    x, y = fmnist[0][:100], fmnist[1][:100]
    eps = 0.03
    apgd_t = attacks.apgd_targeted(model, x, y, eps, num_targets=3, steps=20)
    ta_apgd_t = torchattacks.APGDT(model, eps=eps, steps=20, n_classes=4, seed=0)(x, y)
    fab = attacks.fab_targeted(model, x, y, eps, num_targets=3, steps=20)
    ta_fab = torchattacks.FAB(model, eps=eps, steps=20, multi_targeted=True, n_classes=4, seed=0)(x, y)
    for res in (apgd_t, fab):
        _inside(res, x, eps, INF)
    assert _acc(model, apgd_t.x, y) <= _acc(model, ta_apgd_t, y) + 0.01
    assert _acc(model, fab.x, y) <= _acc(model, ta_fab, y) + 0.01
    # success flags agree with the model's own verdict on the returned images
    with torch.no_grad():
        assert torch.equal(fab.success, model(fab.x).argmax(1) != y)


class _NoGradModel(nn.Module):
    """Fails if anybody builds a graph through it: a score-based attack must not."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        assert not torch.is_grad_enabled(), "Square must not compute gradients"
        return self.inner(x)


@pytest.mark.parametrize("norm,eps", [("linf", 0.05), ("l2", 1.0)])
def test_square_breaks_points_without_gradients_and_repeats_with_a_seed(model, fmnist, norm, eps):
    x, y = fmnist[0][:60], fmnist[1][:60]
    blind = _NoGradModel(model)
    a = attacks.square(blind, x, y, eps, norm=norm, steps=200, seed=1)
    b = attacks.square(blind, x, y, eps, norm=norm, steps=200, seed=1)
    _inside(a, x, eps, INF if norm == "linf" else 2)
    assert torch.equal(a.x, b.x)
    assert _acc(model, a.x, y) < _acc(model, x, y) - 0.1


def test_apgd_checkpoints_follow_the_paper():
    assert apgd_checkpoints(100) == [22, 41, 58, 70, 80, 87, 93, 99]
    assert all(0 < c < 1000 for c in apgd_checkpoints(1000))


def test_apgd_halves_the_step_when_the_loss_stalls():
    """A constant objective never improves: every row halves η at every checkpoint."""
    x = torch.rand(4, 1, 6, 6)
    rule = APGD(INF)
    optimize(nn.Flatten(), x, lambda ev: ev.x.sum(dim=(1, 2, 3)) * 0, step=rule, steps=30,
             constraint=Ball(INF, 0.1) & Box(0, 1))
    halvings = sum(1 for c in apgd_checkpoints(30) if c < 30)
    assert torch.allclose(rule._eta, torch.full((4,), 0.2 / 2 ** halvings))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 10_000), st.sampled_from([2.0, INF]), st.floats(-3, 3))
def test_hyperplane_projection_is_feasible_and_reaches_the_plane(seed, p, c):
    g_ = torch.Generator().manual_seed(seed)
    g = torch.randn(3, 20, generator=g_)
    x = torch.rand(3, 20, generator=g_)
    lo, hi = -x, 1 - x
    cc = torch.full((3,), c)
    d = project_onto_hyperplane(g, cc, lo, hi, p)
    assert (d >= lo - 1e-6).all() and (d <= hi + 1e-6).all()
    best = torch.where(cc >= 0, (g * torch.where(g > 0, hi, lo)).sum(1), (g * torch.where(g > 0, lo, hi)).sum(1))
    reachable = (cc.abs() <= best.abs() - 1e-3)
    reached = ((g * d).sum(1) - cc).abs() <= 1e-3 * (1 + abs(c))
    assert (reached | ~reachable).all()
    if p == 2:  # inside the box the answer is the unconstrained one, c·g/‖g‖²
        free = cc[:, None] * g / (g * g).sum(1, keepdim=True)
        inside = ((free >= lo) & (free <= hi)).all(1)
        assert torch.allclose(d[inside], free[inside], atol=1e-4)
