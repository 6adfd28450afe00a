"""Attacks against oracles (torchattacks), properties (hypothesis) and the peers' known pitfalls."""
from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import attacks
from robustgan.objectives import Margin
from robustgan.optim import Evaluation, lp_norm

torchattacks = pytest.importorskip("torchattacks")


def test_fgsm_matches_torchattacks(model, fmnist):
    x, y = fmnist[0][:256], fmnist[1][:256]
    ours = attacks.fgsm(model, x, y, 0.1).x
    theirs = torchattacks.FGSM(model, eps=0.1)(x, y)
    assert (ours - theirs).abs().max() <= 1e-6


def test_pgd20_is_at_least_as_strong_as_torchattacks(model, fmnist):
    x, y = fmnist[0][:500], fmnist[1][:500]
    eps, alpha = 0.05, 0.01
    ours = attacks.pgd(model, x, y, eps, steps=20, step_size=alpha, seed=0)
    torch.manual_seed(0)
    theirs = torchattacks.PGD(model, eps=eps, alpha=alpha, steps=20, random_start=True)(x, y)
    with torch.no_grad():
        acc_ours = float((model(ours.x).argmax(1) == y).float().mean())
        acc_theirs = float((model(theirs).argmax(1) == y).float().mean())
    assert acc_ours <= acc_theirs + 0.01
    assert acc_ours < 0.5 * float((model(x).argmax(1) == y).float().mean())  # it really attacks


def test_pgd_l2_is_at_least_as_strong_as_foolbox(model, fmnist):
    foolbox = pytest.importorskip("foolbox")
    # Without a random start both runs are deterministic, so the comparison is free of sampling noise.
    x, y = fmnist[0][:500], fmnist[1][:500]
    eps, steps = 1.0, 20
    ours = attacks.pgd(model, x, y, eps, norm="l2", steps=steps, step_size=2.5 * eps / steps,
                       random_start=False)
    fb = foolbox.attacks.L2PGD(abs_stepsize=2.5 * eps / steps, steps=steps, random_start=False)
    _, theirs, _ = fb(foolbox.PyTorchModel(model, bounds=(0, 1)), x, y, epsilons=eps)
    with torch.no_grad():
        acc_ours = float((model(ours.x).argmax(1) == y).float().mean())
        acc_theirs = float((model(theirs).argmax(1) == y).float().mean())
    assert acc_ours <= acc_theirs + 0.005
    assert (lp_norm(ours.x - x, 2) <= eps + 1e-5).all()


def test_attacks_really_lower_accuracy(model, fmnist):
    x, y = fmnist[0][:300], fmnist[1][:300]
    with torch.no_grad():
        clean = float((model(x).argmax(1) == y).float().mean())
    assert clean > 0.85
    for res in (attacks.fgsm(model, x, y, 0.1), attacks.mifgsm(model, x, y, 0.1),
                attacks.pgd(model, x, y, 2.0, norm="l2", steps=20)):
        with torch.no_grad():
            robust = float((model(res.x).argmax(1) == y).float().mean())
        assert robust < clean - 0.4


def test_lbfgs_targeted_success_with_less_distortion_than_fgsm(model, fmnist):
    x, y = fmnist[0][:60], fmnist[1][:60]
    with torch.no_grad():
        keep = model(x).argmax(1) == y
    x, y = x[keep][:40], y[keep][:40]
    target = (y + 1) % 10
    res = attacks.lbfgs(model, x, y, target=target, search_rounds=6, steps=60)
    assert res.success.float().mean() >= 0.95
    with torch.no_grad():
        assert (model(res.x).argmax(1) == target)[res.success].all()
    assert ((res.x >= 0) & (res.x <= 1)).all()
    fg = attacks.fgsm(model, x, y, 0.1)
    assert fg.success.any()
    assert res.distance[res.success].median() < lp_norm(fg.x - x, 2)[fg.success].median()


def test_cw_finds_small_l2_adversarials(model, fmnist):
    x, y = fmnist[0][:30], fmnist[1][:30]
    res = attacks.cw_l2(model, x, y, steps=60, step_size=0.05, search_rounds=4)
    with torch.no_grad():
        clean_ok = model(x).argmax(1) == y
    assert res.success[clean_ok].float().mean() >= 0.9
    assert ((res.x >= 0) & (res.x <= 1)).all()
    assert res.distance[res.success & clean_ok].median() < 2.0


norms = st.sampled_from(["linf", "l2", "l1"])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(norm=norms, eps=st.floats(0.0, 3.0), steps=st.integers(1, 4), seed=st.integers(0, 1000),
       restarts=st.integers(1, 2))
def test_pgd_output_stays_in_ball_and_box(model, fmnist, norm, eps, steps, seed, restarts):
    x, y = fmnist[0][:16], fmnist[1][:16]
    if norm == "l1":
        with pytest.raises(ValueError):
            attacks.pgd(model, x, y, eps, norm=norm, steps=steps)
        return
    e = eps / 10 if norm == "linf" else eps
    res = attacks.pgd(model, x, y, e, norm=norm, steps=steps, restarts=restarts, seed=seed)
    p = float("inf") if norm == "linf" else 2.0
    assert (lp_norm(res.x - x, p) <= e * (1 + 1e-5) + 1e-6).all()
    assert ((res.x >= 0) & (res.x <= 1)).all()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(eps=st.floats(0.0, 0.3), steps=st.integers(1, 5))
def test_fgsm_and_mifgsm_stay_in_ball_and_box(model, fmnist, eps, steps):
    x, y = fmnist[0][:16], fmnist[1][:16]
    for res in (attacks.fgsm(model, x, y, eps), attacks.mifgsm(model, x, y, eps, steps=steps)):
        assert (lp_norm(res.x - x, float("inf")) <= eps + 1e-6).all()
        assert ((res.x >= 0) & (res.x <= 1)).all()


def test_attack_leaves_a_batchnorm_model_in_train_mode_with_its_statistics(bn_net, batch):
    x, y = batch
    stats = {k: v.clone() for k, v in bn_net.state_dict().items()}
    for run in (lambda: attacks.pgd(bn_net, x, y, 0.1, steps=3), lambda: attacks.fgsm(bn_net, x, y, 0.1),
                lambda: attacks.cw_l2(bn_net, x[:4], y[:4], steps=3, search_rounds=1),
                lambda: attacks.lbfgs(bn_net, x[:4], y[:4], search_rounds=1, steps=3)):
        run()
        assert bn_net.training and bn_net.bn.training
        assert all(p.requires_grad for p in bn_net.parameters())
        assert all(p.grad is None for p in bn_net.parameters())
        for k, v in bn_net.state_dict().items():
            assert torch.equal(v, stats[k]), k


def test_cw_margin_is_right_when_all_logits_are_negative():
    logits = torch.tensor([[-5.0, -1.0, -3.0], [-2.0, -7.0, -9.0]])
    ev = Evaluation(x=torch.zeros(2, 1, 1, 1), logits=logits, origin=torch.zeros(2, 1, 1, 1),
                    samples=torch.arange(2), target=torch.tensor([0, 0]))
    # z_y − max_{i≠y} z_i: −5 − (−1) = −4 and −2 − (−7) = 5 (a zero-masked max would give −5 and −2)
    assert Margin()(ev).tolist() == [0.0, 5.0]
    assert Margin(confidence=10)(ev).tolist() == [-4.0, 5.0]


def test_untargeted_lbfgs_descends_the_loss_it_minimises(model, fmnist):
    """Its objective is the margin z_y − max z_other (+ c‖r‖): the result must lower the true class's lead."""
    x, y = fmnist[0][:20], fmnist[1][:20]
    res = attacks.lbfgs(model, x, y, search_rounds=4, steps=50)
    with torch.no_grad():
        def lead(z):
            logits = model(z)
            others = logits.masked_fill(nn.functional.one_hot(y, 10).bool(), float("-inf")).amax(1)
            return logits.gather(1, y[:, None]).squeeze(1) - others
        assert (lead(res.x) <= lead(x) + 1e-5).all()
        assert res.success.float().mean() > 0.9


def test_softmax_output_gets_a_warning(model, batch):
    x, y = batch
    probs = nn.Sequential(model, nn.Softmax(dim=1))
    with pytest.warns(UserWarning, match="softmax"):
        attacks.pgd(probs, x, y, 0.05, steps=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        attacks.pgd(model, x, y, 0.05, steps=1)


@pytest.mark.parametrize("mutate, error, match", [
    (lambda x, y: (x.masked_fill(torch.zeros_like(x, dtype=torch.bool).index_fill_(0, torch.tensor([0]), True), float("nan")), y),
     ValueError, "NaN"),
    (lambda x, y: (x * 255, y), ValueError, r"\[0, 1\]"),
    (lambda x, y: (x[:, 0], y), ValueError, "shape"),
    (lambda x, y: (x, y + 10), ValueError, "labels must lie"),
    (lambda x, y: (x, y[:-1]), ValueError, "labels must have shape"),
    (lambda x, y: (x, y.float()), TypeError, "integer"),
    (lambda x, y: (x.numpy(), y), TypeError, "torch.Tensor"),
])
def test_bad_inputs_fail_early_and_clearly(model, batch, mutate, error, match):
    x, y = mutate(*batch)
    with pytest.raises(error, match=match):
        attacks.pgd(model, x, y, 0.1, steps=1)


def test_negative_or_malformed_eps_is_rejected(model, batch):
    x, y = batch
    with pytest.raises(ValueError, match="eps"):
        attacks.fgsm(model, x, y, -0.1)
    with pytest.raises(ValueError, match="eps"):
        attacks.pgd(model, x, y, torch.ones(3), steps=1)


@pytest.mark.parametrize("name", ["pgd", "fgsm", "mifgsm", "difgsm", "vmifgsm", "cw", "fmn", "ddn"])
def test_a_targeted_attack_needs_no_true_labels(name, model, batch):
    import inspect

    x, y = batch
    x, target = x[:16], (y[:16] + 1) % 10
    fn = attacks.ATTACKS[name]
    args = (model, x, None, 0.3) if "eps" in inspect.signature(fn).parameters else (model, x, None)
    params = inspect.signature(fn).parameters
    budget = {"steps": 20} if "steps" in params and name != "fgsm" else {}
    budget.update({"seed": 0} if "seed" in params else {})
    with_y = fn(*args[:2], y[:16], *args[3:], target=target, **budget)
    without = fn(*args, target=target, **budget)
    assert torch.equal(with_y.success, without.success) and torch.allclose(with_y.x, without.x)
    with pytest.raises((ValueError, TypeError), match="labels"):
        fn(*args, **budget)
