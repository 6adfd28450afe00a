"""The attack-specific rules' move to robustgan.optim.rules: old paths and names still work, warn,
and give the same objects; rules read the box from the loop's constraint; rules without a step
size carry none."""
from __future__ import annotations

import importlib
import sys
import warnings

import pytest
import torch
from torch import nn

import robustgan.optim as optim
from robustgan.objectives import CrossEntropy
from robustgan.optim import Box, FABStep, LinfBall, Parametrization, SquareSearch, optimize, rules
from robustgan.optim.steps import RuleContext, SizedStep, StepRule

MOVED = {"adaptive": "apgd", "square": "square", "fab": "fab", "hyperplane": "hyperplane", "penalty": "penalty",
         "deepfool": "deepfool", "minimal_norm": "minimal_norm", "transfer": "transfer"}


def _fresh_import(name: str):
    sys.modules.pop(name, None)
    with pytest.warns(DeprecationWarning, match=name):
        return importlib.import_module(name)


@pytest.mark.parametrize("old,new", sorted(MOVED.items()))
def test_old_module_paths_warn_and_give_the_same_objects(old, new):
    shim = _fresh_import(f"robustgan.optim.{old}")
    moved = importlib.import_module(f"robustgan.optim.rules.{new}")
    public = [n for n, v in vars(moved).items()
              if not n.startswith("_") and getattr(v, "__module__", None) == moved.__name__]
    assert public
    for name in public:
        assert getattr(shim, name) is getattr(moved, name)


def test_private_helpers_and_package_attributes_still_resolve():
    shim = _fresh_import("robustgan.optim.adaptive")
    assert shim._l0 is rules.apgd._l0
    sys.modules.pop("robustgan.optim.square", None)
    vars(optim).pop("square", None)  # an earlier import of the submodule set the attribute
    with pytest.warns(DeprecationWarning):
        assert optim.square.SquareSearch is SquareSearch


def test_normalized_is_a_deprecated_alias_of_normalized_gradient():
    with pytest.warns(DeprecationWarning, match="NormalizedGradient"):
        assert optim.Normalized is optim.NormalizedGradient
    from robustgan.optim import steps
    with pytest.warns(DeprecationWarning):
        assert steps.Normalized is optim.NormalizedGradient
    assert "Normalized" not in optim.__all__


def test_the_library_imports_without_deprecation_warnings():
    code = ("import warnings; warnings.simplefilter('error', DeprecationWarning); "
            "import robustgan.optim, attacks, robustgan.features.recipes, robustgan.visualize.dream")
    import subprocess
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_rules_without_a_step_size_carry_none():
    for rule in (rules.APGD(), SquareSearch(), FABStep(), rules.DeepFoolStep(), rules.FMNStep(), optim.LBFGS()):
        assert not hasattr(rule, "step_size")
        with pytest.raises(TypeError, match="no step size"):
            rule.size(None, torch.zeros(1))
    with pytest.raises(ValueError, match="step size"):
        optim.Sign(-1.0)


class _OldStyle(StepRule):
    def __init__(self, step_size):
        super().__init__(step_size)

    def step(self, w, grad, rows):
        return w - self.size(rows, w) * grad.sign()


def test_a_rule_sized_through_the_base_still_works(model, batch):
    x, y = batch
    with pytest.warns(DeprecationWarning, match="SizedStep"):
        old = _OldStyle(0.01)
    kw = dict(target=y, steps=3, constraint=LinfBall(0.03) & Box())
    ours = optimize(model, x, -CrossEntropy(), step=old, **kw)
    ref = optimize(model, x, -CrossEntropy(), step=optim.Sign(0.01), **kw)
    assert torch.equal(ours.x, ref.x)
    with pytest.raises(ValueError, match="step size"), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        _OldStyle(-1.0)


def _margin(ev):
    z = ev.logits
    own = z.gather(1, ev.target[:, None])[:, 0]
    return own - z.scatter(1, ev.target[:, None], -1e9).amax(1)


def test_square_and_fab_stay_in_the_constraints_box(model, batch):
    x, y = batch
    x = x.clamp(0.2, 0.8)
    box = Box(0.2, 0.8)
    gen = torch.Generator().manual_seed(0)
    square = optimize(model, x, _margin, step=SquareSearch(generator=gen), steps=20, target=y,
                      constraint=LinfBall(0.3) & box, keep="last")
    fab = optimize(model, x, _margin, step=FABStep(), steps=5, target=y, constraint=box, keep="last")
    for res in (square, fab):
        assert res.x.min() >= 0.2 and res.x.max() <= 0.8


def test_rule_context_bounds():
    ctx = RuleContext(lambda x, rows: x, torch.zeros(1), None, 1)
    assert ctx.bounds() == (0.0, 1.0)
    ctx.box = Box(-1, 2)
    assert ctx.bounds() == (-1.0, 2.0)


def test_parametrization_protocol_has_defaults():
    param = Parametrization()
    w = torch.rand(3, 2)
    assert param.keep_variable is False
    assert torch.equal(param.to_input_for(w, torch.arange(3)), w)
    with pytest.raises(TypeError, match="parametrization"):
        optimize(nn.Linear(2, 2), w, lambda ev: ev.logits.sum(1), step=optim.Sign(0.1), steps=1,
                 parametrization=object())


def test_sized_step_is_the_base_of_the_sized_rules():
    for rule in (optim.Sign(0.1), optim.NormalizedGradient(0.1), optim.GradientDescent(0.1), optim.Momentum(0.1),
                 optim.Adam(0.1), rules.VarianceTuned(0.1)):
        assert isinstance(rule, SizedStep) and rule.step_size == 0.1
