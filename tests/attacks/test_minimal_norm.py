"""FMN and DDN: equal-budget oracles against adv-lib and Foolbox, the moving radius of the loop,
and properties (hypothesis)."""
from __future__ import annotations

import copy
import math
import time

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import attacks
from attacks.fmn import budget_steps
from robustgan.optim import Ball, Box, L0Ball, StepRule, optimize
from robustgan.optim.rules.minimal_norm import l0_to_boundary, norm_of, project_l0_box

INF = float("inf")
STEPS = 100
POINTS = 100
NORMS = {"l0": 0, "l1": 1, "l2": 2, "linf": INF}


def _correct(model: nn.Module, fmnist, n: int = POINTS):
    x, y = fmnist
    with torch.no_grad():
        ok = model(x).argmax(1) == y
    return x[ok][:n].clone(), y[ok][:n].clone()


def _judge(model, x_adv, x, y, p):
    """The model's own verdict on returned images and their distance, whoever produced them."""
    assert x_adv.shape == x.shape
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    with torch.no_grad():
        fooled = model(x_adv).argmax(1) != y
    return fooled, norm_of(x_adv - x, p)


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _peers(model, x, y, attack: str, norm: str):
    """adv-lib's and Foolbox's version of the attack at the same budget (steps, γ, α schedule)."""
    foolbox = pytest.importorskip("foolbox")
    adv_lib = pytest.importorskip("adv_lib.attacks")
    fmodel = foolbox.PyTorchModel(model, bounds=(0, 1))
    if attack == "fmn":
        p = NORMS[norm]
        fb_cls = {0: foolbox.attacks.L0FMNAttack, 1: foolbox.attacks.L1FMNAttack,
                  2: foolbox.attacks.L2FMNAttack, INF: foolbox.attacks.LInfFMNAttack}[p]
        return {
            "adv-lib": lambda: adv_lib.fmn(model, x, y, norm=p, steps=STEPS),
            "foolbox": lambda: fb_cls(steps=STEPS)(fmodel, x, y, epsilons=None)[0],
        }
    # adv-lib's DDN rounds every iterate to 256 grey levels by default; ours and Foolbox's do not,
    # so it runs with levels=None: the same continuous problem.
    return {
        "adv-lib": lambda: adv_lib.ddn(model, x, y, steps=STEPS, levels=None),
        "foolbox": lambda: foolbox.attacks.DDNAttack(steps=STEPS)(fmodel, x, y, epsilons=None)[0],
    }


CASES = [("fmn", n) for n in NORMS] + [("ddn", "l2")]


@pytest.fixture(scope="module")
def oracle_points(model, robust_model, fmnist):
    return {"standard": (model, *_correct(model, fmnist)), "robust": (robust_model, *_correct(robust_model, fmnist))}


@pytest.mark.parametrize("which", ["standard", "robust"])
@pytest.mark.parametrize("attack,norm", CASES)
def test_minimal_norm_matches_peers(oracle_points, which, attack, norm):
    """Same model, same points, same number of steps: our median distortion is at most 2% above
    each peer's, and our success rate at most one point below.

    What is compared: every image is judged by the model itself (a peer's own success flag is not
    trusted). Both peers return the clean input where they fail (checked below), so a failure never
    counts as adversarial. The medians are taken over the points where *both* attacks succeed, so
    neither side is credited for dropping hard points. Our run spends 2·steps + 1 queries per point
    (one closing forward pass scores the last iterate); the peers spend 2·steps.
    """
    model, x, y = oracle_points[which]
    p = NORMS[norm]
    run = attacks.fmn if attack == "fmn" else attacks.ddn
    ours, t_ours = _timed(lambda: run(model, x, y, norm=norm, steps=STEPS) if attack == "fmn"
                          else run(model, x, y, steps=STEPS))
    s_ours, d_ours = _judge(model, ours.x, x, y, p)
    assert torch.equal(s_ours, ours.success)
    assert torch.allclose(d_ours, ours.distance)
    assert (ours.queries == 2 * STEPS + 1).all()
    summary = [f"{attack}-{norm} {which}: ours {s_ours.float().mean():.0%} med {d_ours[s_ours].median():.4g} "
               f"{t_ours:.1f}s"]
    for peer, fn in _peers(model, x, y, attack, norm).items():
        theirs, t = _timed(fn)
        s, d = _judge(model, theirs.detach(), x, y, p)
        assert torch.equal(theirs[~s], x[~s]), f"{peer} returned a changed image for a failed point"
        both = s_ours & s
        summary.append(f"{peer} {s.float().mean():.0%} med {d[s].median():.4g} {t:.1f}s "
                       f"(common: {d_ours[both].median():.4g} vs {d[both].median():.4g})")
        assert s_ours.float().mean() >= s.float().mean() - 0.01, summary
        assert both.sum() >= 0.3 * x.shape[0], summary
        assert d_ours[both].median() <= 1.02 * d[both].median(), summary
    print(" | ".join(summary))


# ---- the moving radius: a capability of the loop, not of the attacks ----

class _Halving(StepRule):
    """Halves a row's radius whenever its iterate succeeds; records what the loop hands it."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def observe(self, w, loss, grad, rows, success=None):
        self.seen.append(success.clone())
        r = self.context.radius
        r[success] = r[success] / 2

    def step(self, w, grad, rows):
        return w + 10.0  # far outside: the projection alone decides where the row lands


def test_loop_hands_success_to_observe_and_projection_follows_the_radius():
    x = torch.full((4, 1, 2, 2), 0.5)
    rule = _Halving()
    always = lambda ev: torch.ones(ev.x.shape[0], dtype=torch.bool)  # noqa: E731
    res = optimize(nn.Identity(), x, lambda ev: ev.x.flatten(1).sum(1), step=rule, steps=3,
                   constraint=Ball(INF, 0.4) & Box(0, 1), success=always, keep="last")
    assert len(rule.seen) == 4 and all(s.all() for s in rule.seen)
    # radius 0.4 → 0.2 → 0.1 → 0.05 after the three observed steps before each move
    assert torch.allclose(res.x - x, torch.full_like(x, 0.05))


class _OldStyle(StepRule):
    def observe(self, w, loss, grad, rows):  # the four-argument hook still works
        self.calls = getattr(self, "calls", 0) + 1

    def step(self, w, grad, rows):
        return w - 0.01 * grad


def test_four_argument_observe_still_works():
    rule = _OldStyle()
    optimize(nn.Identity(), torch.rand(2, 1, 2, 2), lambda ev: ev.x.flatten(1).sum(1), step=rule, steps=2,
             constraint=Box(0, 1), success=lambda ev: torch.zeros(ev.x.shape[0], dtype=torch.bool))
    assert rule.calls == 3


@given(st.integers(0, 2**16), st.floats(0, 30))
@settings(max_examples=30, deadline=None)
def test_l0_projection_is_feasible_and_keeps_the_largest_moves(seed, k):
    g = torch.Generator().manual_seed(seed)
    c = torch.rand(3, 1, 4, 4, generator=g)
    x = c + torch.randn(3, 1, 4, 4, generator=g)
    out = project_l0_box(x, c, torch.full((3,), k), 0.0, 1.0)
    assert out.min() >= 0 and out.max() <= 1
    assert (norm_of(out - c, 0) <= math.floor(k)).all()
    kept = (out != c).flatten(1)
    top = (x - c).abs().flatten(1).argsort(dim=1, descending=True)[:, :math.floor(k)]
    allowed = torch.zeros_like(kept).scatter_(1, top, True)
    assert not (kept & ~allowed).any()  # only the ⌊k⌋ largest moves survive (some the box cancels)
    ball = Box(0, 1) & L0Ball(k)
    assert ball.contains(out, c, torch.full((3,), k)).all()


@given(st.integers(0, 2**16), st.floats(0.0, 5.0))
@settings(max_examples=40, deadline=None)
def test_l0_boundary_count_is_exact_for_a_linear_loss(seed, margin):
    """Changing the counted coordinates to the box faces the gradient points away from cancels the
    margin of a linear loss, and one coordinate fewer never does (unless even all of them cannot)."""
    g = torch.Generator().manual_seed(seed)
    x, grad = torch.rand(4, 1, 3, 3, generator=g), torch.randn(4, 1, 3, 3, generator=g)
    m = torch.full((4,), margin)
    k = l0_to_boundary(x, grad, m, Box(0.0, 1.0)).long()
    face = torch.where(grad > 0, torch.zeros_like(x), torch.ones_like(x))
    gain = (grad * (x - face)).flatten(1)  # the loss drop of moving each coordinate to its face
    top = gain.sort(dim=1, descending=True).values.cumsum(dim=1)
    for i in range(4):
        if int(k[i]) > 9:  # the whole box cannot cancel it
            assert top[i, -1] < margin
            continue
        assert top[i, int(k[i]) - 1] >= margin - 1e-6
        if int(k[i]) > 1:
            assert top[i, int(k[i]) - 2] < margin


def test_fmn_l0_reaches_points_that_need_many_pixels(oracle_points):
    """A robust model's hardest points need 50+ changed pixels; a ball that grew by one pixel a
    step before the first success could not reach them in 100 steps (88% success here), the jump
    to the linearised L0 boundary does."""
    model, x, y = oracle_points["robust"]
    res = attacks.fmn(model, x, y, norm="l0", steps=STEPS)
    fooled, dist = _judge(model, res.x, x, y, 0)
    assert torch.equal(fooled, res.success)
    assert fooled.float().mean() >= 0.98, f"{fooled.float().mean():.0%}"
    assert dist[fooled].max() > 40  # the hard points are among those reached


def test_budget_steps_maps_queries_onto_steps(model, fmnist):
    assert budget_steps(100, None) == 100
    assert budget_steps(100, 51) == 25 and budget_steps(10, 51) == 10 and budget_steps(5, 1) == 0
    x, y = fmnist[0][:4], fmnist[1][:4]
    for q in (1, 2, 21):
        for res in (attacks.fmn(model, x, y, queries=q), attacks.ddn(model, x, y, queries=q)):
            assert (res.queries <= q).all() and (res.queries == 2 * ((q - 1) // 2) + 1).all()
    with pytest.raises(ValueError, match="queries"):
        attacks.fmn(model, x, y, queries=0)
    with pytest.raises(ValueError, match="norm"):
        attacks.fmn(model, x, y, norm="l3")
    with pytest.raises(ValueError, match="init_epsilon"):
        attacks.ddn(model, x, y, init_epsilon=0.0)


# ---- properties ----

def _snapshot(net: nn.Module):
    return ([m.training for m in net.modules()], [q.requires_grad for q in net.parameters()])


@given(
    attack=st.sampled_from(["fmn-l0", "fmn-l1", "fmn-l2", "fmn-linf", "ddn"]),
    start=st.integers(0, 900), n=st.integers(1, 6), steps=st.integers(0, 12),
    targeted=st.booleans(), train_mode=st.booleans(),
)
@settings(max_examples=25, deadline=None)
def test_properties(model, fmnist, attack, start, n, steps, targeted, train_mode):
    x, y = fmnist[0][start:start + n], fmnist[1][start:start + n]
    net = copy.deepcopy(model)
    net.train(train_mode)
    for q in list(net.parameters())[:2]:
        q.requires_grad_(False)
    before = _snapshot(net)
    target = (y + 1 + torch.arange(n) % 9) % 10 if targeted else None
    name, _, norm = attack.partition("-")
    p = NORMS[norm or "l2"]

    def run():
        if name == "fmn":
            return attacks.fmn(net, x, y, norm=norm, steps=steps, target=target)
        return attacks.ddn(net, x, y, steps=steps, target=target, seed=3)

    res = run()
    assert _snapshot(net) == before and all(q.grad is None for q in net.parameters())
    assert res.x.min() >= 0 and res.x.max() <= 1
    assert torch.allclose(res.distance, norm_of(res.x - x, p), rtol=1e-5, atol=1e-6)
    assert res.norm == p
    net.eval()
    with torch.no_grad():
        pred = net(res.x).argmax(1)
    goal = pred == target if targeted else pred != y
    assert torch.equal(res.success, goal)
    assert torch.equal(res.x[~res.success], x[~res.success])  # unchanged where nothing succeeded
    assert (res.forwards == steps + 1).all() and (res.backwards == steps).all()
    net.train(train_mode)
    again = run()
    assert torch.equal(again.x, res.x) and torch.equal(again.distance, res.distance)
