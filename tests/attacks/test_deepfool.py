"""DeepFool: as strong and as small as Foolbox, torchattacks and adv-lib on the same points, and
the properties every attack owes (box, honest distances and verdicts, untouched model, repeatable).

How the peers' outputs are read: every library's success is judged here by the model's verdict
on the images it returns, and a point it did not fool counts as an infinite distortion. That
matters because the peers disagree on what a failed point is: Foolbox and torchattacks return
their last iterate (not adversarial), adv-lib returns the *unchanged input* (distance 0), and this
library returns the input with ``success=False``. Taking any returned image's raw distance would
make failures look like tiny perturbations.
"""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import attacks
from robustgan.optim import lp_norm

INF = float("inf")
N = 100
STEPS, CANDIDATES, OVERSHOOT = 50, 10, 0.02


class Counting(nn.Module):
    """Counts the rows of every forward pass and of every backward pass through the logits."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner, self.forwards, self.backwards = inner, 0, 0

    def forward(self, x):
        self.forwards += x.shape[0]
        out = self.inner(x)
        if out.requires_grad:
            out.register_hook(lambda g: setattr(self, "backwards", self.backwards + g.shape[0]))
        return out


def _distortion(model, x, y, x_adv, p):
    """Per clean-correct point: the Lp distortion where the model is fooled, inf where it is not."""
    with torch.no_grad():
        clean = model(x).argmax(1) == y
        fooled = model(x_adv).argmax(1) != y
    d = torch.where(fooled, lp_norm(x_adv - x, p), torch.full((x.shape[0],), INF))
    return d[clean]


def _peer_runs(model, x, y, norm, torchattacks_too):
    foolbox = pytest.importorskip("foolbox")
    p = 2.0 if norm == "l2" else INF
    runs = {"robustgan": attacks.deepfool(model, x, y, norm=norm, steps=STEPS, candidates=CANDIDATES,
                                          overshoot=OVERSHOOT).x}
    fb_attack = (foolbox.attacks.L2DeepFoolAttack if p == 2 else foolbox.attacks.LinfDeepFoolAttack)(
        steps=STEPS, candidates=CANDIDATES, overshoot=OVERSHOOT)
    runs["foolbox"] = fb_attack(foolbox.PyTorchModel(model, bounds=(0, 1)), x, y, epsilons=None)[0]
    try:
        from adv_lib.attacks.deepfool import df
    except ImportError:
        pass
    else:
        runs["adv-lib"] = df(model, x, y, steps=STEPS, overshoot=OVERSHOOT, norm=p)
    if p == 2 and torchattacks_too:  # it attacks one image at a time: the slowest peer by far
        try:
            import torchattacks
        except ImportError:
            pass
        else:  # L2 only, and always every class (10 here, as CANDIDATES)
            runs["torchattacks"] = torchattacks.DeepFool(model, steps=STEPS, overshoot=OVERSHOOT)(x, y)
    return {lib: _distortion(model, x, y, xa, p) for lib, xa in runs.items()}


@pytest.fixture(scope="module")
def peer_results(model, robust_model, fmnist):
    x, y = fmnist[0][:N], fmnist[1][:N]
    return {(name, norm): _peer_runs(m, x, y, norm, name == "standard")
            for name, m in (("standard", model), ("pgd-at", robust_model)) for norm in ("l2", "linf")}


@pytest.mark.parametrize("name", ["standard", "pgd-at"])
@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_deepfool_is_as_strong_and_as_small_as_the_peers(peer_results, name, norm):
    runs = peer_results[(name, norm)]
    ours = runs["robustgan"]
    slack = math.ceil(ours.numel() / 100)  # one percentage point of the attacked points
    assert len(runs) >= 2, "no peer library is installed"
    for lib, theirs in runs.items():
        if lib == "robustgan":
            continue
        assert int(torch.isfinite(ours).sum()) >= int(torch.isfinite(theirs).sum()) - slack, lib
        assert float(ours.median()) <= 1.02 * float(theirs.median()), lib
        # on the points both fooled, too (torchattacks fails on many: its per-step overshoot is
        # clipped away by the box, so its iterates creep up to the boundary without crossing it)
        both = torch.isfinite(ours) & torch.isfinite(theirs)
        assert float(ours[both].median()) <= 1.02 * float(theirs[both].median()), lib
    assert bool(torch.isfinite(ours).float().mean() > 0.9)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(norm=st.sampled_from(["l2", "linf"]), steps=st.integers(0, 8), candidates=st.integers(2, 10),
       overshoot=st.floats(0, 0.1), first=st.integers(0, 90))
def test_deepfool_properties(model, fmnist, norm, steps, candidates, overshoot, first):
    x, y = fmnist[0][first:first + 8], fmnist[1][first:first + 8]
    p = 2.0 if norm == "l2" else INF
    counting = Counting(model)
    res = attacks.deepfool(counting, x, y, norm=norm, steps=steps, candidates=candidates, overshoot=overshoot)
    again = attacks.deepfool(model, x, y, norm=norm, steps=steps, candidates=candidates, overshoot=overshoot)
    assert torch.equal(res.x, again.x) and torch.equal(res.success, again.success)
    assert res.x.min() >= 0 and res.x.max() <= 1
    assert torch.allclose(res.distance, lp_norm(res.x - x, p))
    with torch.no_grad():
        pred = model(res.x).argmax(1)
    assert torch.equal(res.success, pred != y)
    assert torch.equal(res.x[~res.success], x[~res.success])  # a failure returns the input itself
    # the reported passes are exactly the ones the model saw: the first step's evaluation at the
    # clean input checks the logits are finite and ranks the candidate classes (no extra pass)
    assert int(res.backwards.sum()) == counting.backwards
    assert int(res.forwards.sum()) == counting.forwards
    assert int(res.queries.max()) <= 2 + steps * min(candidates, 10)


def test_deepfool_respects_a_query_budget_and_leaves_the_model_alone(bn_net, fmnist):
    x, y = fmnist[0][:16], fmnist[1][:16]
    state = {k: v.clone() for k, v in bn_net.state_dict().items()}
    flags = [p.requires_grad for p in bn_net.parameters()]
    res = attacks.deepfool(bn_net, x, y, norm="l2", queries=32)
    assert bn_net.training
    assert [p.requires_grad for p in bn_net.parameters()] == flags
    assert all(p.grad is None for p in bn_net.parameters())
    assert all(torch.equal(v, state[k]) for k, v in bn_net.state_dict().items())
    assert int(res.queries.max()) <= 32


def test_deepfool_rejects_bad_arguments(model, fmnist):
    x, y = fmnist[0][:2], fmnist[1][:2]
    with pytest.raises(ValueError, match="norm"):
        attacks.deepfool(model, x, y, norm="l1")
    with pytest.raises(ValueError, match="candidates"):
        attacks.deepfool(model, x, y, candidates=1)
    with pytest.raises(ValueError, match="overshoot"):
        attacks.deepfool(model, x, y, overshoot=-0.1)
    assert attacks.ATTACKS["deepfool"] is attacks.deepfool
