"""How the loop runs: cycle retirement, the masked (sync-free) mode, autocast and compilation.

Each mode must reach the decisions of the plain loop: the same success flags (robust accuracy),
iterates equal to within float noise, the same query counts."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import attacks
from robustgan.objectives import CrossEntropy
from robustgan.optim import APGD, Ball, Box, LoopOptions, Momentum, Sign, loop_options, optimize
from robustgan.optim.cycles import CycleDetector


def _correct(model, fmnist, n):
    x, y = fmnist
    with torch.no_grad():
        ok = model(x).argmax(1) == y
    return x[ok][:n].clone(), y[ok][:n].clone()


# ---- cycle retirement ------------------------------------------------------------------------

@given(st.integers(0, 2 ** 16), st.sampled_from([torch.float32, torch.float64]))
@settings(max_examples=30, deadline=None)
def test_cycle_detector_sees_exact_repeats_only(seed, dtype):
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(5, 1, 4, 4, generator=g, dtype=dtype)
    b = a.clone()
    b[2, 0, 1, 3] = torch.nextafter(b[2, 0, 1, 3], torch.tensor(2.0, dtype=dtype))  # one ulp away
    det = CycleDetector(5, 4, a[0].numel(), a.device)
    assert not det.seen(a, None).any()  # nothing to revisit at the first step
    assert not det.seen(torch.rand(5, 1, 4, 4, generator=g, dtype=dtype), None).any()
    repeat = det.seen(b, None)
    assert repeat.tolist() == [True, True, False, True, True]
    rows = torch.tensor([2, 4])
    assert det.seen(a[rows], rows).tolist() == [True, True]


def test_a_sign_step_that_oscillates_retires_with_the_full_budgets_result():
    """Minimise (x − 0.55)² by sign steps of 1/8 from 0 (exact in binary): the iterates climb to
    0.5, then bounce between 0.625 and 0.5 forever. Cycle retirement stops the row at its first
    revisit (step 6) with the same best point."""

    class Identity(nn.Module):
        def forward(self, x):
            return x.flatten(1)

    start = torch.zeros(3, 1)
    objective = lambda ev: ((ev.x - 0.55) ** 2).flatten(1).sum(1)  # noqa: E731
    kw = dict(step=Sign(0.125), steps=60, constraint=Box(0.0, 1.0))
    full = optimize(Identity(), start, objective, **kw)
    short = optimize(Identity(), start, objective, retire_cycles=True, **kw)
    assert torch.equal(full.x, short.x) and torch.equal(full.loss, short.loss)
    assert (short.steps == 6).all() and (full.steps == 60).all()
    assert (short.backwards < full.backwards).all()


def test_cycle_retirement_refuses_what_it_cannot_make_exact(model, fmnist):
    x, y = _correct(model, fmnist, 4)
    kw = dict(steps=3, constraint=Ball(float("inf"), 0.1) & Box(), target=y, retire_cycles=True)
    with pytest.raises(ValueError, match="memoryless"):
        optimize(model, x, -CrossEntropy(), step=Momentum(0.01), **kw)
    with pytest.raises(ValueError, match="memoryless"):
        optimize(model, x, -CrossEntropy(), step=APGD(float("inf"), 0.01), **kw)
    with pytest.raises(ValueError, match="keep='best'"):
        optimize(model, x, -CrossEntropy(), step=Sign(0.01), keep="last", **kw)
    with pytest.raises(ValueError, match="transform"):
        optimize(model, x, -CrossEntropy(), step=Sign(0.01), transform=lambda v: v, **kw)


def test_cycle_retirement_keeps_robust_accuracy_and_saves_gradients(model, fmnist):
    """PGD-100 with step ε/4 at ε = 0.02 on the shipped CNN, the same seed with and without cycle
    retirement: robust accuracy equal to within one example, while the points that stay robust
    settle into cycles and retire (a quarter fewer gradients)."""
    x, y = _correct(model, fmnist, 200)
    kw = dict(steps=100, step_size=0.005, early_stop=True, seed=3)
    full = attacks.pgd(model, x, y, 0.02, **kw)
    short = attacks.pgd(model, x, y, 0.02, retire_cycles=True, **kw)
    assert abs(int(full.success.sum()) - int(short.success.sum())) <= 1
    assert (short.distance <= 0.02 + 1e-6).all() and short.x.min() >= 0 and short.x.max() <= 1
    assert short.backwards.sum() < 0.85 * full.backwards.sum(), (short.backwards.sum(), full.backwards.sum())
    robust = ~short.success
    assert (short.steps[robust] < 100).float().mean() > 0.3  # many robust points stopped early


# ---- the masked (sync-free) loop ---------------------------------------------------------------

def _same_decisions(a, b, atol=1e-6):
    assert torch.equal(a.success, b.success)
    assert torch.allclose(a.x, b.x, atol=atol, rtol=0)
    assert torch.equal(a.steps, b.steps)
    assert torch.equal(a.forwards, b.forwards) and torch.equal(a.backwards, b.backwards)


@pytest.mark.parametrize("every", [1, 4])
def test_masked_loop_reaches_the_gathering_loops_decisions(model, fmnist, every):
    x, y = _correct(model, fmnist, 64)
    runs = {
        "pgd early exit": lambda: attacks.pgd(model, x, y, 0.05, steps=10, early_stop=True, seed=1),
        "pgd cycles": lambda: attacks.pgd(model, x, y, 0.05, steps=30, early_stop=True, retire_cycles=True, seed=1),
        "pgd-l2 restarts": lambda: attacks.pgd(model, x, y, 1.0, norm="l2", steps=8, restarts=2, early_stop=True,
                                               seed=2),
        "fmn": lambda: attacks.fmn(model, x, y, norm="l2", steps=20),
        "apgd": lambda: attacks.apgd(model, x, y, 0.05, steps=20, seed=0),
        "deepfool": lambda: attacks.deepfool(model, x, y, steps=10),
    }
    for name, run in runs.items():
        plain = run()
        with loop_options(sync_every=every):
            masked = run()
        _same_decisions(plain, masked)


def test_masked_loop_keeps_the_final_iterate_of_adversarial_training(model, fmnist):
    x, y = _correct(model, fmnist, 16)
    kw = dict(step=Sign(0.01), steps=5, constraint=Ball(float("inf"), 0.05) & Box(), target=y, keep="final")
    plain = optimize(model, x, -CrossEntropy(), **kw)
    masked = optimize(model, x, -CrossEntropy(), sync_every=2, **kw)
    assert torch.allclose(plain.x, masked.x, atol=1e-6, rtol=0)


def test_loop_options_validate_and_nest():
    with pytest.raises(ValueError, match="sync_every"):
        LoopOptions(sync_every=0)
    with pytest.raises(ValueError, match="amp"):
        LoopOptions(amp="fp8")
    with loop_options(sync_every=3):
        with loop_options(amp="bf16") as inner:
            assert inner == LoopOptions(sync_every=3, amp="bf16")


# ---- autocast and compilation ------------------------------------------------------------------

def test_bf16_autocast_agrees_with_float32(model, fmnist):
    """Under bf16 autocast the model runs in bfloat16 while the variable, steps and projection stay
    float32: the adversarial images stay in their ball and the box, and PGD's verdict agrees with
    float32 on at least 95% of the points (bf16 keeps 8 bits of mantissa)."""
    x, y = _correct(model, fmnist, 200)
    full = attacks.pgd(model, x, y, 0.05, steps=10, seed=0)
    with loop_options(amp="bf16"):
        half = attacks.pgd(model, x, y, 0.05, steps=10, seed=0)
    assert half.x.dtype == torch.float32
    assert (half.distance <= 0.05 + 1e-6).all() and half.x.min() >= 0 and half.x.max() <= 1
    assert (half.success == full.success).float().mean() >= 0.95
    assert abs(float(half.success.float().mean()) - float(full.success.float().mean())) <= 0.03


class _Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Conv2d(1, 4, 5, stride=2), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 12 * 12, 10))

    def forward(self, x):
        return self.net(x)


def test_compiled_run_agrees_with_eager(fmnist):
    """torch.compile (inductor) of the model: the same PGD iterates to within 1e-5 and the same
    verdicts, on CPU."""
    pytest.importorskip("torch._inductor")
    model = _Tiny().eval()
    x, y = fmnist
    x, y = x[:32], y[:32]
    eager = attacks.pgd(model, x, y, 0.05, steps=5, seed=0)
    with loop_options(compile=True):
        fast = attacks.pgd(model, x, y, 0.05, steps=5, seed=0)
    assert torch.equal(eager.success, fast.success)
    assert torch.allclose(eager.x, fast.x, atol=1e-5, rtol=0)


def test_commands_that_attack_take_the_loop_switches(capsys):
    """--amp/--compile/--sync-every parse on evaluate, train and craft and set the loop's options
    around the command; a bad value is a one-line error with exit code 2."""
    from robustgan import cli
    from robustgan.optim.options import current_options

    parser = cli.build_parser()
    for argv in (["evaluate"], ["train"], ["craft", "det", "--out", "x"]):
        args = parser.parse_args(argv + ["--amp", "bf16", "--compile", "--sync-every", "5"])
        with cli._loop_options(args):
            assert current_options() == LoopOptions(sync_every=5, amp="bf16", compile=True)
    assert current_options() == LoopOptions()
    assert cli.main(["evaluate", "--sync-every", "0", "-n", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sync_every" in err[0]
