"""Adversarial training: robustness gained, modes during the inner attack, crash/kill and bit-exact resume."""
from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Subset

from conftest import CrashAfter
from robustgan.cli import main
from robustgan.data import load_dataset, take
from robustgan.models import Normalized, SmallCNN, load_classifier
from robustgan.optim import frozen
from robustgan.train import AdversarialConfig, TrainConfig, accuracy, train_classifier
from robustgan.train.job import robust_accuracy
from robustgan.train.trades import trades_inner_max

EPS = 0.1


def _fresh(width: int = 8, seed: int = 3) -> nn.Module:
    torch.manual_seed(seed)
    return Normalized(SmallCNN(width=width), (0.286,), (0.353,))


@pytest.fixture(scope="session")
def splits():
    train, _ = load_dataset("fashion-mnist", "train")
    test, _ = load_dataset("fashion-mnist", "test")
    return train, test


@pytest.fixture(scope="session")
def finetuned(model, splits):
    """The shipped standard CNN fine-tuned for one epoch on 1,024 training images: plainly, and with
    each adversarial method (cached for the session). The plain run is the control."""
    train, _ = splits
    small = Subset(train, range(1024))
    models = {}
    for method in (None, "pgd", "fgsm-rs", "trades"):
        adv = None if method is None else AdversarialConfig(method, eps=EPS, steps=None if method == "fgsm-rs" else 3)
        m = copy.deepcopy(model)
        train_classifier(m, small, TrainConfig(epochs=1, batch_size=64, seed=0, adversarial=adv), progress=False)
        models[method or "standard"] = m
    return models


def test_adversarial_training_raises_pgd_robust_accuracy_far_above_standard(finetuned, splits):
    _, test = splits
    held_out = Subset(test, range(400))
    robust = {name: robust_accuracy(m, held_out, EPS, steps=10, n=400, seed=1) for name, m in finetuned.items()}
    assert robust["standard"] < 0.12, robust  # the control: more standard training leaves it fragile
    for method in ("pgd", "fgsm-rs", "trades"):
        assert robust[method] > robust["standard"] + 0.15, robust
        assert accuracy(finetuned[method], held_out) > 0.6


class _Spy(nn.Module):
    """Records (training mode, whether weights take gradients) at every forward pass."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner
        self.bn = nn.BatchNorm2d(1)
        self.log = []

    def forward(self, x):
        self.log.append((self.training, next(self.inner.parameters()).requires_grad))
        return self.inner(self.bn(x))


@pytest.mark.parametrize("method", ["pgd", "fgsm-rs", "trades"])
def test_inner_attack_runs_in_eval_mode_and_the_outer_loss_in_train_mode(method, splits):
    train, _ = splits
    spy = _Spy(_fresh())
    cfg = TrainConfig(epochs=1, batch_size=32, adversarial=AdversarialConfig(method, eps=EPS, steps=None if method == "fgsm-rs" else 2))
    train_classifier(spy, Subset(train, range(64)), cfg, progress=False)
    modes = set(spy.log)
    # attack: eval mode, frozen weights; outer loss: train mode, trainable weights; nothing else
    assert modes == {(False, False), (True, True)}, modes
    outer = sum(1 for m in spy.log if m == (True, True))
    assert outer == 2 * (2 if method == "trades" else 1)
    assert all(p.requires_grad for p in spy.parameters())


@pytest.mark.parametrize("method", ["pgd", "trades"])
def test_crash_midway_then_resume_matches_an_uninterrupted_run_bit_for_bit(method, splits, tmp_path):
    train, test = splits
    small = Subset(train, range(192))
    cfg = TrainConfig(epochs=3, batch_size=64, seed=7, adversarial=AdversarialConfig(method, eps=EPS, steps=2))
    straight = _fresh()
    train_classifier(straight, small, cfg, progress=False)
    ckpt = tmp_path / "run.train.pt"
    with pytest.raises(RuntimeError, match="simulated crash"):  # dies a third into epoch 2
        train_classifier(_fresh(), CrashAfter(small, 192 + 64), cfg, checkpoint=ckpt, progress=False)
    assert torch.load(ckpt, weights_only=True)["epoch"] == 1
    resumed = _fresh(seed=99)  # whatever the weights, resume loads the checkpoint's
    history = train_classifier(resumed, small, cfg, checkpoint=ckpt, resume=True, progress=False)
    assert [h["epoch"] for h in history.epochs] == [1, 2, 3]
    for (k, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k


def test_resume_refuses_a_checkpoint_written_with_other_settings(splits, tmp_path):
    train, _ = splits
    small = Subset(train, range(64))
    ckpt = tmp_path / "run.train.pt"
    train_classifier(_fresh(), small, TrainConfig(epochs=1, batch_size=32, adversarial=AdversarialConfig("pgd", eps=EPS, steps=1)),
                     checkpoint=ckpt, progress=False)
    other = TrainConfig(epochs=2, batch_size=32, adversarial=AdversarialConfig("pgd", eps=0.2, steps=1))
    with pytest.raises(ValueError, match="different settings.*adversarial"):
        train_classifier(_fresh(), small, other, checkpoint=ckpt, resume=True, progress=False)


def test_cli_run_killed_after_first_epoch_resumes_bit_for_bit(tmp_path):
    common = ["train", "--adversarial", "fgsm-rs", "--eps", "0.1", "--train-subset", "768", "--test-subset", "64",
              "--epochs", "3", "--batch-size", "64", "--seed", "4", "--robust-eval", "0", "--quiet"]
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "robustgan.cli", *common, "--out", str(killed)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ckpt = killed / "model.train.pt"
    deadline = time.time() + 120
    while not ckpt.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    epoch = torch.load(ckpt, weights_only=True)["epoch"]
    assert 1 <= epoch < 3 and not (killed / "model.pt").exists()  # killed mid-run: the final model was never written
    assert main([*common, "--out", str(killed), "--resume"]) == 0
    straight = tmp_path / "straight"
    assert main([*common, "--out", str(straight)]) == 0
    a, b = load_classifier(straight / "model.pt").state_dict(), load_classifier(killed / "model.pt").state_dict()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_cli_rejects_bad_adversarial_settings(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train", "--adversarial", "boom", "--out", str(tmp_path / "m")])
    code = main(["train", "--adversarial", "pgd", "--eps", "-0.1", "--out", str(tmp_path / "m")])
    assert code == 2 and "eps must be" in capsys.readouterr().err


def test_config_validation_and_paper_defaults():
    pgd = AdversarialConfig("pgd", eps=0.1)
    assert pgd.inner_steps == 7 and pgd.inner_step_size == pytest.approx(2.5 * 0.1 / 7)
    fast = AdversarialConfig("fgsm-rs", eps=0.1)
    assert fast.inner_steps == 1 and fast.inner_step_size == pytest.approx(0.125)
    assert AdversarialConfig("trades").beta == 6.0
    for bad in (dict(method="madry"), dict(eps=0.0), dict(eps=float("nan")), dict(norm="l1"),
                dict(method="fgsm-rs", steps=3), dict(steps=0), dict(beta=-1.0)):
        with pytest.raises(ValueError):
            AdversarialConfig(**bad)
    with pytest.raises(TypeError):
        TrainConfig(adversarial="pgd")
    with pytest.raises(ValueError):
        train_classifier(_fresh(), [], TrainConfig(adversarial=pgd), perturb=lambda m, x, y: x)


@settings(max_examples=15, deadline=None)
@given(eps=st.floats(0.01, 0.3), norm=st.sampled_from(["linf", "l2"]), seed=st.integers(0, 2 ** 31 - 1))
def test_trades_inner_max_stays_in_ball_and_box_raises_kl_and_leaves_model_untouched(eps, norm, seed):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.Tanh(), nn.Dropout(0.2), nn.Linear(8, 4)).train()
    x = torch.rand(6, 1, 4, 4, generator=torch.Generator().manual_seed(seed))
    cfg = AdversarialConfig("trades", eps=eps, norm=norm, steps=4)
    x_adv, kl = trades_inner_max(model, x, cfg, torch.Generator().manual_seed(seed))
    d = (x_adv - x).flatten(1)
    size = d.abs().amax(1) if norm == "linf" else d.norm(dim=1)
    assert bool((size <= eps + 1e-5).all()) and bool((x_adv >= 0).all() and (x_adv <= 1).all())
    assert bool((kl >= -1e-6).all()) and float(kl.sum()) > 0
    assert model.training and all(p.requires_grad and p.grad is None for p in model.parameters())
    again, _ = trades_inner_max(model, x, cfg, torch.Generator().manual_seed(seed))
    assert torch.equal(x_adv, again)  # same seed, same bits
    with frozen([model]), torch.no_grad():
        p, q = torch.log_softmax(model(x), 1), torch.log_softmax(model(x_adv), 1)
    assert torch.allclose((p.exp() * (p - q)).sum(1), kl, atol=1e-5)


@pytest.mark.parametrize("method", ["pgd", "fgsm-rs"])
def test_inner_pgd_is_attacks_pgd_last_iterate_bit_for_bit_and_leaves_the_model_alone(method, model, splits):
    import attacks

    from robustgan.train.adversarial import pgd_last_iterate

    x, y = take(splits[1], 32)
    cfg = AdversarialConfig(method, eps=EPS, steps=None if method == "fgsm-rs" else 4)
    was_training = model.training
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ours = pgd_last_iterate(model, x, y, cfg, torch.Generator().manual_seed(5))
    assert model.training and all(p.requires_grad for p in model.parameters())
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    model.train(was_training)
    ref = attacks.pgd(model, x, y, EPS, steps=cfg.inner_steps, step_size=cfg.inner_step_size, random_start=True,
                      keep="last", generator=torch.Generator().manual_seed(5))
    assert torch.equal(ours, ref.x)
    assert float((ours - x).abs().max()) <= EPS + 1e-6 and bool((ours >= 0).all() and (ours <= 1).all())
    with torch.no_grad():  # the attack did its job: the last iterate raises the loss
        assert F.cross_entropy(model(ours), y) > F.cross_entropy(model(x), y)
