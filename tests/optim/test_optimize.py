"""The one loop: best-so-far, restarts, early exit, per-sample ε, determinism, model untouched."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from robustgan.objectives import CrossEntropy, Distance, as_objective
from robustgan.optim import (LBFGSB, Adam, Box, LinfBall, Sign, L2Ball, NormalizedGradient, frozen, lp_norm, optimize,
                             uniform_in_ball)


def _fooled(ev):
    return ev.logits.argmax(1) != ev.target


def test_restarts_keep_the_best_row_per_sample(model, batch):
    x, y = batch
    common = dict(step=Sign(0.01), steps=5, constraint=LinfBall(0.05) & Box(), target=y, init=uniform_in_ball("linf"))
    one = optimize(model, x, -CrossEntropy(), restarts=1, generator=torch.Generator().manual_seed(1), **common)
    many = optimize(model, x, -CrossEntropy(), restarts=4, generator=torch.Generator().manual_seed(1), **common)
    # the first restart of the 4-restart run is the same draw as the 1-restart run
    assert (many.loss <= one.loss + 1e-6).all()
    assert (many.loss < one.loss - 1e-6).any()
    # the kept loss really is the loss of the kept input
    with torch.no_grad():
        again = -nn.functional.cross_entropy(model(many.x), y, reduction="none")
    assert torch.allclose(again, many.loss, atol=1e-5)


def test_early_exit_retires_fooled_samples_and_agrees_on_success(model, batch):
    x, y = batch
    common = dict(step=Sign(0.025), steps=10, constraint=LinfBall(0.1) & Box(), target=y, success=_fooled)
    full = optimize(model, x, -CrossEntropy(), **common)
    fast = optimize(model, x, -CrossEntropy(), stop_on_success=True, **common)
    assert torch.equal(full.success, fast.success)  # deterministic path: same iterates until retirement
    assert fast.evaluations < full.evaluations
    assert (fast.steps[fast.success] < 10).all()
    with torch.no_grad():
        assert (model(fast.x).argmax(1) != y)[fast.success].all()


def test_per_sample_eps_is_respected(model, batch):
    x, y = batch
    eps = torch.linspace(0.0, 0.2, len(y))
    res = optimize(model, x, -CrossEntropy(), step=Sign(0.05), steps=4, constraint=LinfBall(eps) & Box(), target=y,
                   init=uniform_in_ball("linf"), generator=torch.Generator().manual_seed(0))
    assert (lp_norm(res.x - x, float("inf")) <= eps + 1e-6).all()
    assert lp_norm(res.x[-1:] - x[-1:], float("inf")) > 0.1


def test_same_seed_same_bits_and_input_untouched(model, batch):
    x, y = batch
    before = x.clone()
    run = lambda: optimize(model, x, -CrossEntropy(), step=NormalizedGradient(0.2), steps=3, constraint=L2Ball(1.0) & Box(),
                           target=y, restarts=2, init=uniform_in_ball("l2"), generator=torch.Generator().manual_seed(7))
    a, b = run(), run()
    assert torch.equal(a.x, b.x)
    assert torch.equal(x, before)


def test_caller_model_state_is_restored(bn_net, batch):
    x, y = batch
    bn_net.fc.weight.requires_grad_(False)  # a mixed set of flags must come back as it was
    bn_net.conv.weight.grad = torch.ones_like(bn_net.conv.weight)
    state = copy.deepcopy(bn_net.state_dict())
    flags = [p.requires_grad for p in bn_net.parameters()]
    optimize(bn_net, x, -CrossEntropy(), step=Sign(0.01), steps=3, constraint=LinfBall(0.03) & Box(), target=y)
    assert bn_net.training and bn_net.bn.training and bn_net.drop.training
    assert [p.requires_grad for p in bn_net.parameters()] == flags
    assert torch.equal(bn_net.conv.weight.grad, torch.ones_like(bn_net.conv.weight))
    assert bn_net.fc.bias.grad is None
    for k, v in bn_net.state_dict().items():
        assert torch.equal(v, state[k]), k


def test_mode_is_read_at_call_time(bn_net, batch):
    x, y = batch
    bn_net.eval()
    with frozen([bn_net]):
        pass
    bn_net.train()  # switched after an earlier use: must come back in train mode
    optimize(bn_net, x, -CrossEntropy(), step=Sign(0.01), steps=1, target=y)
    assert bn_net.training
    bn_net.eval()
    optimize(bn_net, x, -CrossEntropy(), step=Sign(0.01), steps=1, target=y)
    assert not bn_net.training


def test_adam_reaches_a_target_image_and_state_resets_per_call():
    target_img = torch.rand(3, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    start = torch.zeros_like(target_img)
    identity = nn.Flatten()
    obj = as_objective(lambda ev: ((ev.x - target_img[ev.samples]) ** 2).flatten(1).sum(1))
    rule = Adam(0.05)
    a = optimize(identity, start, obj, step=rule, steps=300, constraint=Box())
    b = optimize(identity, start, obj, step=rule, steps=300, constraint=Box())
    assert (a.loss < 1e-4).all()
    assert torch.equal(a.x, b.x)


def test_lbfgsb_driver_reaches_the_minimum_inside_the_box():
    goal = torch.tensor([[[[1.5, -0.5, 0.25]]]])  # outside the box in two coordinates
    obj = as_objective(lambda ev: ((ev.x - goal) ** 2).flatten(1).sum(1))
    res = optimize(nn.Flatten(), torch.full_like(goal, 0.5), obj, step=LBFGSB(), steps=50, constraint=Box())
    assert torch.allclose(res.x, torch.tensor([[[[1.0, 0.0, 0.25]]]]), atol=1e-5)


def test_lbfgsb_refuses_a_ball_constraint(model, batch):
    x, y = batch
    with pytest.raises(ValueError, match="box constraint only"):
        optimize(model, x, CrossEntropy(), step=LBFGSB(), steps=2, constraint=LinfBall(0.1) & Box(), target=y)


def test_objectives_compose():
    from robustgan.optim import Evaluation

    logits = torch.tensor([[2.0, 0.0, -1.0]])
    ev = Evaluation(x=torch.ones(1, 1, 1, 2), logits=logits, origin=torch.zeros(1, 1, 1, 2),
                    samples=torch.tensor([0]), target=torch.tensor([0]))
    ce = float(CrossEntropy()(ev))
    combo = CrossEntropy() + 0.5 * Distance(2, squared=True) - 2 * CrossEntropy()
    assert float(combo(ev)) == pytest.approx(ce + 0.5 * 2.0 - 2 * ce)


def test_keep_final_returns_the_last_iterate_without_scoring_it(model, batch):
    from robustgan.objectives import CrossEntropy
    from robustgan.optim import Ball, Box, optimize, steepest, uniform_in_ball

    x, y = batch
    runs = {keep: optimize(model, x, -CrossEntropy(), step=steepest(float("inf"), 0.02), steps=5,
                           constraint=Ball(float("inf"), 0.1) & Box(0, 1), target=y, init=uniform_in_ball(float("inf")),
                           keep=keep, generator=torch.Generator().manual_seed(3))
            for keep in ("last", "final")}
    assert torch.equal(runs["last"].x, runs["final"].x)
    assert runs["final"].evaluations == runs["last"].evaluations - x.shape[0]
    assert torch.isnan(runs["final"].loss).all()
    with pytest.raises(ValueError, match="restarts"):
        optimize(model, x, -CrossEntropy(), step=steepest(float("inf"), 0.02), steps=2, restarts=2, keep="final")


def test_evaluate_objective_is_the_loops_first_value(model, batch):
    from robustgan.objectives import CrossEntropy
    from robustgan.optim import Sign, evaluate_objective, optimize

    x, y = batch
    x = x[:16]
    net = copy.deepcopy(model).train()  # a caller's model in train mode, with no gradients yet
    value = evaluate_objective(net, x, CrossEntropy(), target=y[:16])
    assert net.training and all(p.grad is None for p in net.parameters())  # its state as it was
    reference = copy.deepcopy(model).eval()
    with torch.no_grad():
        expected = torch.nn.functional.cross_entropy(reference(x), y[:16], reduction="none")
    assert torch.allclose(value, expected, atol=1e-6)
    res = optimize(reference, x, CrossEntropy(), step=Sign(0.0), steps=0, target=y[:16], keep="last")
    assert torch.equal(res.loss, value)
