"""The channels-last layout the loop runs convolutional models in: the same decisions, and the
caller's model given back holding its very own tensors."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import attacks
from robustgan.optim import LoopOptions, loop_options
from robustgan.optim.layout import channels_last, wants_channels_last


def _conv_net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 14 * 14, 10)).eval()


def _snapshot(model: nn.Module) -> list:
    return [(name, t.data_ptr(), t.stride(), t.clone(), t.requires_grad) for name, t in
            [*model.named_parameters(), *model.named_buffers()]]


def test_channels_last_runs_only_where_asked_and_safe():
    conv, x = _conv_net(), torch.rand(2, 1, 28, 28)
    assert not wants_channels_last(conv, x, None, reads_layers=False)  # off by default
    assert not wants_channels_last(conv, x, False, reads_layers=False)
    assert wants_channels_last(conv, x, True, reads_layers=False)
    assert not wants_channels_last(conv, x, True, reads_layers=True)  # inner layers are read
    assert not wants_channels_last(conv, x.flatten(1), True, reads_layers=False)  # not an image batch
    with pytest.raises(TypeError, match="channels_last"):
        LoopOptions(channels_last="yes")
    # minimal-norm rules end on the decision boundary: judged in the caller's own layout
    from robustgan.optim.rules.deepfool import DeepFoolStep
    from robustgan.optim.rules.fab import FABStep
    from robustgan.optim.rules.minimal_norm import DDNStep, FMNStep

    assert all(rule.seeks_boundary for rule in (FMNStep, DDNStep, DeepFoolStep, FABStep))
    assert not wants_channels_last(conv, x, True, reads_layers=False, seeks_boundary=True)


def test_pgd_in_channels_last_reaches_the_contiguous_runs_decisions(model, fmnist):
    """The shipped CNN, L2 PGD (normalised steps, continuous in the gradient): the same success
    flags, and iterates within 1e-4 on at least 95% of the points (gradients agree to rounding,
    ~1e-9, which ten projected steps can amplify on a few points, never past 5% of the radius);
    the caller's model keeps its storage, layout, mode and flags."""
    x, y = fmnist
    x, y = x[:128], y[:128]
    before = _snapshot(model)
    plain = attacks.pgd(model, x, y, 1.0, norm="l2", steps=10, seed=0)
    with loop_options(channels_last=True):
        fast = attacks.pgd(model, x, y, 1.0, norm="l2", steps=10, seed=0)
    assert torch.equal(plain.success, fast.success)
    assert plain.success.float().mean() > 0.3  # the attack does work
    gap = (plain.x - fast.x).flatten(1).norm(dim=1)
    assert (gap <= 1e-4).float().mean() >= 0.95 and gap.max() <= 0.05
    after = _snapshot(model)
    for (n0, p0, s0, v0, g0), (n1, p1, s1, v1, g1) in zip(before, after):
        assert (n0, p0, s0, g0) == (n1, p1, s1, g1) and torch.equal(v0, v1)
    assert all(p.is_contiguous() for p in model.parameters())


def test_the_weights_are_channels_last_during_the_run_and_the_callers_own_afterwards():
    """Inside the run the conv weights are stored channels-last and every pass goes through the
    caller's module (its forward hooks see them all); afterwards each parameter holds its original
    tensor again, also when the run fails."""
    net = _conv_net(1)
    x, y = torch.rand(16, 1, 28, 28), torch.randint(0, 10, (16,))
    before = _snapshot(net)
    layouts, calls = [], []
    net[0].register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))

    def objective(ev):
        layouts.append(net[0].weight.is_contiguous(memory_format=torch.channels_last))
        return -torch.nn.functional.cross_entropy(ev.logits, ev.target, reduction="none")

    from robustgan.optim import NormalizedGradient, optimize

    res = optimize(net, x, objective, step=NormalizedGradient(0.1), steps=4, target=y, channels_last=True)
    assert layouts and all(layouts) and len(calls) == int(res.forwards.sum()) // 16
    for (n0, p0, s0, v0, g0), (n1, p1, s1, v1, g1) in zip(before, _snapshot(net)):
        assert (n0, p0, s0, g0) == (n1, p1, s1, g1) and torch.equal(v0, v1)
    with pytest.raises(RuntimeError, match="boom"):
        with channels_last(net):
            assert net[0].weight.is_contiguous(memory_format=torch.channels_last)
            raise RuntimeError("boom")
    for (n0, p0, s0, v0, g0), (n1, p1, s1, v1, g1) in zip(before, _snapshot(net)):
        assert (n0, p0, s0, g0) == (n1, p1, s1, g1) and torch.equal(v0, v1)


def test_seeds_give_identical_bits_in_channels_last(model, fmnist):
    x, y = fmnist
    with loop_options(channels_last=True):
        a = attacks.pgd(model, x[:64], y[:64], 0.05, steps=5, seed=3)
        b = attacks.pgd(model, x[:64], y[:64], 0.05, steps=5, seed=3)
    assert torch.equal(a.x, b.x)
