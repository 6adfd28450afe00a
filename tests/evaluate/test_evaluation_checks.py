"""Self-checks flag gradient masking and other broken evaluations; suites and model sources work."""
from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import attacks
from robustgan.cli import main
from robustgan.evaluate.checks import (attack_checks, check_forward_autograd, check_logits, check_randomness,
                                       model_checks)
from robustgan.evaluate.suite import SuiteSettings, run_suite
from robustgan.models import load_model, model_fingerprint
from robustgan.optim import lp_norm


class Quantized(nn.Module):
    """Rounds its input to 8 grey levels first: the gradient is zero almost everywhere."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(torch.round(x * 8) / 8)


class Noisy(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x + 0.05 * torch.randn_like(x))


class Softmaxed(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x).softmax(dim=1)


class Purifying(nn.Module):
    """A test-time defence that runs a gradient step inside its forward pass."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        with torch.enable_grad():
            z = x.detach().requires_grad_(True)
            g, = torch.autograd.grad(self.inner(z).logsumexp(1).sum(), z)
        return self.inner((x - 0.01 * g.sign()).clamp(0, 1))


def _names(checks, passed):
    return {c.name for c in checks if c.passed is passed}


def test_a_masked_model_is_flagged_and_square_breaks_it(model, fmnist):
    x, y = fmnist[0][:60], fmnist[1][:60]
    masked = Quantized(model)
    checks = model_checks(masked, x, y) + attack_checks(masked, x, y, "linf", [0.02, 0.05, 0.1], steps=10, queries=300)
    assert {"non-zero input gradients", "an unbounded attack reaches 0%",
            "gradient attacks beat a gradient-free one", "the attack's loss rises"} <= _names(checks, False)
    eps = 0.1
    pgd = attacks.pgd(masked, x, y, eps, steps=20, seed=0)
    square = attacks.square(masked, x, y, eps, steps=300, seed=0)
    assert square.success.float().mean() > pgd.success.float().mean() + 0.3


def test_the_default_model_passes_every_check(model, fmnist):
    x, y = fmnist[0][:60], fmnist[1][:60]
    checks = model_checks(model, x, y) + attack_checks(model, x, y, "linf", [0.02, 0.05, 0.1], steps=10, queries=300)
    assert not _names(checks, False), [c for c in checks if not c.passed]


def test_randomised_softmax_and_autograd_models_are_flagged(model, fmnist):
    x = fmnist[0][:8]
    assert not check_randomness(Noisy(model), x).passed
    assert not check_logits(Softmaxed(model), x).passed
    assert not check_forward_autograd(Purifying(model), x).passed
    assert check_forward_autograd(model, x).passed


def test_suite_attacks_only_survivors_and_stays_in_the_ball(model, fmnist):
    x, y = fmnist[0][:80], fmnist[1][:80]
    eps = 0.05
    settings = SuiteSettings(steps=10, queries=100, targets=2)
    res = run_suite(model, x, y, eps, "linf", "standard", settings)
    assert [r["attack"] for r in res.rows] == ["apgd-ce", "apgd-t", "fab-t", "square"]
    for before, after in zip(res.rows, res.rows[1:]):
        assert after["attacked"] == before["attacked"] - before["broken"]
    accs = [r["robust_accuracy"] for r in res.rows]
    assert accs == sorted(accs, reverse=True)
    assert (lp_norm(res.x_adv - x, float("inf")) <= eps + 1e-6).all()
    with torch.no_grad():
        still_right = model(res.x_adv).argmax(1) == y
    assert torch.equal(still_right, res.robust)
    assert res.robust_accuracy < float(res.clean.float().mean()) - 0.2


def test_torchscript_and_state_dict_sources_load_the_same_model(model, tmp_path, fmnist):
    x = fmnist[0][:4]
    script = tmp_path / "model.ts"
    torch.jit.trace(model, x).save(str(script))
    loaded = load_model(script)
    assert torch.allclose(loaded(x), model(x), atol=1e-5)
    state = tmp_path / "weights.pt"
    torch.save(model.model.state_dict(), state)
    plain = load_model(state, "small-cnn", mean=model.mean.flatten().tolist(), std=model.std.flatten().tolist(),
                       in_channels=1, num_classes=10)
    assert torch.allclose(plain(x), model(x), atol=1e-5)
    with pytest.raises(ValueError, match="architecture"):
        load_model(state)
    assert model_fingerprint(plain.model) == model_fingerprint(model.model)


def test_a_timm_architecture_loads_the_users_weights(tmp_path):
    pytest.importorskip("timm")
    from robustgan.models.zoo import build_model
    torch.manual_seed(0)
    net = build_model("timm:resnet18", in_channels=1, num_classes=10).eval()
    weights = tmp_path / "resnet18.pt"
    torch.save({"state_dict": net.state_dict()}, weights)
    loaded = load_model(weights, "timm:resnet18", in_channels=1, num_classes=10, mean=[0.5], std=[0.25])
    x = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(loaded(x), net((x - 0.5) / 0.25), atol=1e-5)
    with pytest.raises(ValueError, match="do not fit"):
        load_model(weights, "timm:resnet18", in_channels=1, num_classes=7)


def test_evaluate_cli_runs_a_suite_and_reports_checks(tmp_path, model):
    script = tmp_path / "model.ts"
    torch.jit.trace(model, torch.rand(2, 1, 28, 28)).save(str(script))
    out = tmp_path / "report"
    code = main(["evaluate", "--model", str(script), "-n", "60", "--attacks", "fgsm", "--norms", "linf",
                 "--eps-linf", "0.05,0.1", "--suite", "quick", "--check-examples", "40", "--steps", "10",
                 "--out", str(out), "--quiet"])
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert report["suites"][0]["suite"] == "quick" and report["suites"][0]["eps"] == 0.1
    assert report["suites"][0]["robust_accuracy"] < report["clean_accuracy"]
    assert len(report["checks"]) == 9 and all(c["passed"] for c in report["checks"])
    assert report["seeds"]["seed"] == 0
    assert "Self-checks" in (out / "report.md").read_text()
