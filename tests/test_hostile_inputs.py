"""Hostile inputs: every attack and ``optimize`` either work or refuse with a sentence naming the argument.

NaN logits never count as fooled, the optimiser validates what it is given, dtypes are checked at
the door, hyper-parameters are range-checked, and a property test throws random bad calls at all of it.
"""
from __future__ import annotations

import argparse

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import attacks
from robustgan.cli import build_parser
from robustgan.cli_types import numbers
from robustgan.objectives import CrossEntropy
from robustgan.optim import Box, LinfBall, Sign, TanhBox, lp_norm, optimize

CLASSES = 4
FIXED_EPS = {"fgsm", "pgd", "mifgsm", "difgsm", "tifgsm", "vmifgsm", "apgd", "apgd-t", "fab-t", "square"}
ARGUMENTS = ("images", "labels", "eps", "start", "target", "model")


def tiny_model(dtype: torch.dtype = torch.float32) -> nn.Module:
    """An untrained 1×4×4 → 4-class linear model, the same weights every time (global RNG untouched)."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return nn.Sequential(nn.Flatten(), nn.Linear(16, CLASSES)).to(dtype)


@pytest.fixture
def data():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(6, 1, 4, 4, generator=gen)
    y = torch.randint(0, CLASSES, (6,), generator=gen)
    return x, y


def small_budget(name: str) -> dict:
    """Keyword arguments that keep each attack to a few model passes."""
    return {"fgsm": {}, "pgd": {"steps": 2}, "mifgsm": {"steps": 2}, "apgd": {"steps": 2},
            "apgd-t": {"steps": 2, "num_targets": 2}, "fab-t": {"steps": 2, "num_targets": 2},
            "square": {"steps": 4}, "cw": {"steps": 2, "search_rounds": 1},
            "lbfgs": {"steps": 2, "search_rounds": 1}, "fmn": {"steps": 2}, "ddn": {"steps": 2},
            "deepfool": {"steps": 2}, "difgsm": {"steps": 2}, "tifgsm": {"steps": 2},
            "vmifgsm": {"steps": 2, "neighbours": 2}}[name]


def run_attack(name: str, model: nn.Module, x, y, eps=0.1):
    args = (model, x, y, eps) if name in FIXED_EPS else (model, x, y)
    return attacks.ATTACKS[name](*args, **small_budget(name))


# --- 6. NaN logits never count as fooled ---------------------------------------------------------

class NaNModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = tiny_model()

    def forward(self, x):
        return self.net(x) * float("nan")


class NaNOffGrid(nn.Module):
    """Finite logits on images quantised to 1/8 (the clean inputs), NaN anywhere else: a model that
    breaks away from its data, as a division by a vanishing norm does."""

    def __init__(self):
        super().__init__()
        self.net = tiny_model()

    def forward(self, x):
        off = (x * 8 - (x * 8).round()).abs().flatten(1).amax(dim=1) > 1e-4
        out = self.net(x)
        return torch.where(off[:, None], torch.full_like(out, float("nan")), out)


@pytest.mark.parametrize("name", sorted(attacks.ATTACKS))
def test_nan_logits_on_the_clean_inputs_raise(name, data):
    x, y = data
    with pytest.raises(ValueError, match="NaN or infinite logits"):
        run_attack(name, NaNModel(), x, y)


@pytest.mark.parametrize("name", sorted(attacks.ATTACKS))
def test_iterates_with_nan_logits_are_never_successes(name, data):
    x, _ = data
    x = (x * 8).round() / 8  # on the grid: finite clean logits
    y = torch.tensor([1, 2, 3, 1, 2, 3])  # argmax of a NaN row is 0, which would "fool" every label
    model = NaNOffGrid()
    res = run_attack(name, model, x, y)
    with torch.no_grad():
        logits = model(res.x[res.success])
    assert bool(torch.isfinite(logits).all()), "an iterate with NaN logits counted as a success"
    assert bool((logits.argmax(dim=1) != y[res.success]).all())


# --- 7. optimize validates its inputs -------------------------------------------------------------

def _optimize(x, y, model=None, **kw):
    kw.setdefault("constraint", LinfBall(0.1) & Box(0, 1))
    return optimize(model or tiny_model(), x, -CrossEntropy(), step=Sign(0.05), steps=2, target=y, **kw)


class TupleModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = tiny_model()

    def forward(self, x):
        return self.net(x), x


@pytest.mark.parametrize("case, error, match", [
    ("nan", ValueError, "start must be finite"),
    ("inf", ValueError, "start must be finite"),
    ("range", ValueError, r"start must lie in \[0, 1\]"),
    ("tanh-range", ValueError, r"start must lie in \[0, 1\]"),
    ("empty", ValueError, "start is an empty batch"),
    ("big-label", ValueError, "target must lie in"),
    ("short-label", ValueError, "target must have one entry per sample"),
    ("float-label", TypeError, "target must be integer"),
    ("tuple-model", TypeError, "must return a tensor, got tuple"),
    ("float64", TypeError, "start: dtype torch.float64"),
    ("half", TypeError, "start: dtype torch.float16"),
    ("nan-origin", ValueError, "origin must be finite"),
    ("numpy", TypeError, "start must be a torch.Tensor"),
    ("channels", ValueError, "the model cannot run on .*start"),
])
def test_optimize_rejects_bad_calls_clearly(case, error, match, data):
    x, y = data
    calls = {
        "nan": lambda: _optimize(x.masked_fill(x > 0.9, float("nan")), y),
        "inf": lambda: _optimize(x.masked_fill(x > 0.9, float("inf")), y),
        "range": lambda: _optimize(x * 3, y),
        "tanh-range": lambda: _optimize(x * 3, y, constraint=None, parametrization=TanhBox(0, 1)),
        "empty": lambda: _optimize(x[:0], y[:0]),
        "big-label": lambda: _optimize(x, y + CLASSES),
        "short-label": lambda: _optimize(x, y[:2]),
        "float-label": lambda: _optimize(x, y.float()),
        "tuple-model": lambda: _optimize(x, y, model=TupleModel()),
        "float64": lambda: _optimize(x.double(), y),
        "half": lambda: _optimize(x.half(), y),
        "nan-origin": lambda: _optimize(x, y, origin=x * float("nan")),
        "numpy": lambda: _optimize(x.numpy(), y),
        "channels": lambda: _optimize(torch.cat([x, x], dim=1), y),
    }
    with pytest.raises(error, match=match):
        calls[case]()


def test_optimize_checks_the_box_only_where_there_is_one(data):
    """optimize is general: without a box, a latent or feature vector far outside [0, 1] is a valid
    start; with one, the start must lie inside it (it used to be clamped silently)."""
    x, y = data
    wide = 10 * x.reshape(6, 16) - 5
    res = _optimize(wide, y, constraint=None)
    assert res.x.shape == (6, 16) and bool(torch.isfinite(res.x).all())
    with pytest.raises(ValueError, match=r"start must lie in \[-1, 1\]"):
        _optimize(wide, y, constraint=Box(-1, 1))


# --- 9. dtypes: a sentence at the door, or it works end to end -------------------------------------

@pytest.mark.parametrize("name", sorted(attacks.ATTACKS))
def test_float64_images_with_a_float32_model_are_refused(name, data):
    x, y = data
    with pytest.raises(TypeError, match=r"images: dtype torch.float64 does not match .* cast"):
        run_attack(name, tiny_model(), x.double(), y)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", ["cw", "lbfgs", "apgd", "square", "pgd"])
def test_half_images_on_cpu_are_refused(name, dtype, data):
    x, y = data
    with pytest.raises(TypeError, match="not supported on CPU"):
        run_attack(name, tiny_model(dtype), x.to(dtype), y)


@pytest.mark.parametrize("name", sorted(attacks.ATTACKS))
def test_a_float64_model_works_end_to_end(name, data):
    x, y = data
    res = run_attack(name, tiny_model(torch.float64), x.double(), y)
    assert res.x.dtype == torch.float64 and res.x.shape == x.shape
    assert float(res.x.min()) >= 0 and float(res.x.max()) <= 1


# --- 10. hyper-parameters and the CLI -------------------------------------------------------------

@pytest.mark.parametrize("name, kwargs, match", [
    ("cw", {"c": -1.0}, "c must be"),
    ("cw", {"c": float("nan")}, "c must be"),
    ("cw", {"step_size": 0.0}, "step_size must be"),
    ("cw", {"confidence": -1.0}, "confidence must be"),
    ("cw", {"search_rounds": 0}, "search_rounds must be"),
    ("lbfgs", {"c": 0.0}, "c must be"),
    ("lbfgs", {"search_rounds": 0}, "search_rounds must be"),
    ("pgd", {"steps": 2.5}, "steps must be"),
    ("pgd", {"step_size": -0.01}, "step_size must be"),
    ("mifgsm", {"decay": -1.0}, "decay must be"),
    ("mifgsm", {"steps": 2.5}, "steps must be"),
    ("difgsm", {"diversity_prob": 1.5}, "diversity_prob must be"),
    ("tifgsm", {"kernel_size": 0}, "kernel_size must be"),
    ("vmifgsm", {"neighbours": 0}, "neighbours must be"),
    ("vmifgsm", {"beta": -1.0}, "beta must be"),
    ("apgd", {"steps": 2.5}, "steps must be"),
    ("apgd-t", {"num_targets": 0}, "num_targets must be"),
    ("fab-t", {"steps": 2.5}, "steps must be"),
    ("fab-t", {"num_targets": 0}, "num_targets must be"),
    ("square", {"queries": 0}, "queries must be"),
    ("square", {"steps": 2.5}, "steps must be"),
])
def test_bad_hyper_parameters_are_refused(name, kwargs, match, data):
    x, y = data
    args = (tiny_model(), x, y, 0.1) if name in FIXED_EPS else (tiny_model(), x, y)
    with pytest.raises(ValueError, match=match):
        attacks.ATTACKS[name](*args, **{**small_budget(name), **kwargs})


def test_a_zero_step_size_is_refused_unless_eps_is_zero(data):
    x, y = data
    with pytest.raises(ValueError, match="step_size must be > 0"):
        attacks.pgd(tiny_model(), x, y, 0.1, steps=1, step_size=0.0)
    # the FGSM-as-PGD sweep entry passes step_size=ε, and ε = 0 is a valid sweep point
    res = attacks.pgd(tiny_model(), x, y, 0.0, steps=1, step_size=0.0, random_start=False)
    assert torch.equal(res.x, x)


def test_an_empty_eps_list_is_an_argparse_error(capsys):
    with pytest.raises(argparse.ArgumentTypeError, match="at least one number"):
        numbers("")
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["evaluate", "--eps-linf", ""])
    assert exit_info.value.code == 2
    assert "--eps-linf" in capsys.readouterr().err


# --- the property: succeed inside the ε-ball and the box, or refuse with ValueError/TypeError -------

ASPECTS = ("values", "layout", "dtype", "grad", "numpy", "labels", "eps", "model", "empty", "float64")


def _bad_values(draw, x):
    kind = draw(st.sampled_from(["scaled", "negative", "nan", "inf", "-inf"]))
    if kind == "scaled":
        return x * 255
    if kind == "negative":
        return x - 0.5
    if x.numel():
        x.view(-1)[draw(st.integers(0, x.numel() - 1))] = float(kind)
    return x


def _bad_layout(draw, x):
    n = x.shape[0]
    kind = draw(st.sampled_from(["unbatched", "flat", "5d", "channels", "scalar"]))
    return {"unbatched": x[0] if n else x.reshape(0, 4, 4), "flat": x.reshape(n, 16), "5d": x[..., None],
            "channels": torch.cat([x, x], dim=1), "scalar": x.sum()}[kind]


def _bad_labels(draw, y):
    kind = draw(st.sampled_from(["big", "negative", "short", "float", "2d", "list", "bool", "none"]))
    return {"big": y + CLASSES, "negative": y - CLASSES, "short": y[1:], "float": y.float(), "2d": y[:, None],
            "list": y.tolist(), "bool": y > 1, "none": None}[kind]


def _bad_eps(n: int):
    return st.one_of(
        st.sampled_from([-0.1, float("nan"), float("inf"), "0.1", None, torch.tensor([[0.1]]), torch.tensor(-1.0)]),
        st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=True),
        st.builds(lambda k: torch.full((n + k,), 0.1), st.sampled_from([1, 2])),
    )


def _bad_model(draw):
    kind = draw(st.sampled_from(["tuple", "nan", "float64", "function", "scores"]))
    if kind == "function":
        return lambda x: x.flatten(1)
    if kind == "scores":  # one score per input, no class dimension
        return nn.Sequential(tiny_model(), nn.Linear(CLASSES, 1), nn.Flatten(0))
    return {"tuple": TupleModel, "nan": NaNModel, "float64": lambda: tiny_model(torch.float64)}[kind]()


@st.composite
def hostile_calls(draw):
    """A call with up to two things wrong with it (none, often), each drawn from a list of hostile values."""
    broken = draw(st.sets(st.sampled_from(ASPECTS), max_size=2))
    name = draw(st.sampled_from(["optimize", *sorted(attacks.ATTACKS)]))
    n = 0 if "empty" in broken else draw(st.sampled_from([1, 3]))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2 ** 16)))
    x, y = torch.rand(n, 1, 4, 4, generator=gen), torch.randint(0, CLASSES, (n,), generator=gen)
    y = y.int() if draw(st.booleans()) else y  # any integer dtype is a label
    model = tiny_model(torch.float64 if "float64" in broken else torch.float32)
    x = x.double() if "float64" in broken else x
    x = _bad_values(draw, x) if "values" in broken else x
    x = _bad_layout(draw, x) if "layout" in broken else x
    if "dtype" in broken:
        x = x.to(draw(st.sampled_from([torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.uint8])))
    if "grad" in broken and x.is_floating_point():
        x = x.requires_grad_(True)
    if "numpy" in broken and x.dtype in (torch.float32, torch.float64, torch.int64):
        x = x.detach().numpy()
    model = _bad_model(draw) if "model" in broken else model
    y = _bad_labels(draw, y) if "labels" in broken else y
    good_eps = st.sampled_from([0.0, 0.05, 0.3, torch.tensor(0.1), torch.linspace(0, 0.3, n)]) | st.floats(0, 1)
    eps = draw(_bad_eps(n)) if "eps" in broken else draw(good_eps)
    return name, model, x, y, eps


def _call(name, model, x, y, eps):
    if name == "optimize":
        ball = LinfBall(eps) & Box(0, 1)
        return optimize(model, x, -CrossEntropy(), step=Sign(eps), steps=2, constraint=ball, target=y), float("inf")
    p = {"fmn": 2.0, "ddn": 2.0, "cw": 2.0, "lbfgs": 2.0, "deepfool": 2.0}.get(name, float("inf"))
    return run_attack(name, model, x, y, eps), p


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_calls())
def test_hostile_calls_work_or_fail_with_a_sentence(call):
    name, model, x, y, eps = call
    try:
        res, p = _call(name, model, x, y, eps)
    except (ValueError, TypeError) as exc:
        assert any(arg in str(exc) for arg in ARGUMENTS), f"{name}: {type(exc).__name__} names no argument: {exc}"
        return
    x, res_x = x.detach(), res.x.detach()
    assert res_x.shape == x.shape and res_x.dtype == x.dtype
    assert bool(torch.isfinite(res_x).all())
    assert float(res_x.min()) >= -1e-6 and float(res_x.max()) <= 1 + 1e-6
    if name in FIXED_EPS or name == "optimize":
        radius = eps if isinstance(eps, torch.Tensor) else torch.tensor(float(eps))
        dist = lp_norm((res_x - x).to(torch.float64), p)
        assert bool((dist <= radius.double() * (1 + 1e-5) + 1e-5).all()), f"{name} left the ε-ball"
    if name != "optimize":
        assert res.success.dtype == torch.bool and res.success.shape == (x.shape[0],)



@pytest.mark.parametrize("name", sorted(attacks.ATTACKS))
def test_every_attack_reports_steps_and_passes_per_sample(name, data):
    x, y = data
    res = run_attack(name, tiny_model(), x, y)
    for field in ("steps", "forwards", "backwards"):
        value = getattr(res, field)
        assert isinstance(value, torch.Tensor) and value.shape == (x.shape[0],), field
        assert bool((value >= 0).all()), field
