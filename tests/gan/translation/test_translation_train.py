"""The translation trainer: every architecture runs, checkpoints are data, resume is bit-exact, loading."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from robustgan.gan.translation import (FORMAT, StarGenerator, TranslationConfig, load_translator, make_task,
                                       psnr, save_translator, ssim, train_translation, translate,
                                       translation_quality)
from robustgan.runs import RunRefused

TINY = dict(width=4, batch_size=8, res_blocks=1)
TASK_OF = {"pix2pix": "edges", "srgan": "superres", "cyclegan": "unpaired", "stargan": "domains"}


@pytest.fixture(scope="module")
def tasks():
    return {arch: make_task(name, n=40, split="test") for arch, name in TASK_OF.items()}


@pytest.fixture(scope="module")
def features():
    """A tiny frozen feature network for SRGAN's perceptual loss (the shipped classifier is the default)."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1))


def params_equal(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("arch, adversarial", [("pix2pix", True), ("pix2pix", False), ("srgan", True),
                                               ("srgan", False), ("cyclegan", True), ("stargan", True)])
def test_every_arch_trains_and_saves(arch, adversarial, tasks, features, tmp_path):
    cfg = TranslationConfig(arch=arch, adversarial=adversarial, feature_layer="1", **TINY)
    run = train_translation(tasks[arch], cfg, steps=3, out_dir=tmp_path, progress=False, sample_every=2,
                            features=features)
    assert run.step == 3 and [h["step"] for h in run.history] == [1, 2, 3]
    assert all(torch.isfinite(torch.tensor(h["g_loss"])) for h in run.history)
    assert ("d_loss" in run.history[0]) == adversarial and bool(run.discriminators) == adversarial
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == ["step_000002.png", "step_000003.png"]
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert ckpt["format"] == FORMAT == "robustgan-translation/1" and ckpt["arch"] == arch and ckpt["step"] == 3
    g = load_translator(tmp_path / "checkpoint.pt")
    assert not g.training and params_equal(g, run.translator)
    task = tasks[arch]
    if isinstance(g, StarGenerator):
        out = translate(g, task.sources[:5], domain=1)
        assert torch.equal(out, translate(g.to_domain(1), task.sources[:5]))
    else:
        out = translate(g, task.sources[:5])
    assert out.shape == (5, 1, 28, 28) and 0 <= float(out.min()) and float(out.max()) <= 1


def test_srgan_defaults_to_the_shipped_classifier(tasks):
    """Without ``features`` the perceptual loss taps the shipped classifier at its default layer."""
    cfg = TranslationConfig(arch="srgan", **TINY)
    assert cfg.content == "perceptual" and cfg.feature_layer == "model.features.4"
    run = train_translation(tasks["srgan"], cfg, steps=1, progress=False)
    assert run.history[0]["content"] > 0


def test_cyclegan_directions_and_errors(tasks, tmp_path):
    run = train_translation(tasks["cyclegan"], TranslationConfig(arch="cyclegan", **TINY), steps=1, out_dir=tmp_path,
                            progress=False)
    path = tmp_path / "checkpoint.pt"
    assert params_equal(load_translator(path, direction="ba"), run.generators["G_ba"])
    assert params_equal(load_translator(path), run.generators["G_ab"])
    with pytest.raises(ValueError, match="direction must be one of"):
        load_translator(path, direction="ca")
    with pytest.raises(ValueError, match="pix2pix trains on a paired task"):
        train_translation(tasks["cyclegan"], TranslationConfig(**TINY), steps=1, progress=False)
    with pytest.raises(ValueError, match="baseline"):
        TranslationConfig(arch="cyclegan", adversarial=False).resolved()


@pytest.mark.parametrize("arch, extra", [("pix2pix", dict(dropout=0.5, ema=0.9)), ("cyclegan", dict(pool_size=6, ema=0.5))])
def test_resume_is_bit_exact(arch, extra, tasks, tmp_path):
    """6 steps in one go equal 3 steps, a checkpoint, and 3 resumed steps: every parameter, EMA, history."""
    cfg = TranslationConfig(arch=arch, **TINY, **extra)
    outside = torch.random.get_rng_state()
    full = train_translation(tasks[arch], cfg, steps=6, progress=False)
    assert torch.equal(torch.random.get_rng_state(), outside)  # the global RNG is the caller's
    train_translation(tasks[arch], cfg, steps=3, out_dir=tmp_path, progress=False)
    resumed = train_translation(tasks[arch], cfg, steps=6, out_dir=tmp_path, resume=True, progress=False)
    for group in ("generators", "discriminators", "generators_ema"):
        for name, module in getattr(full, group).items():
            assert params_equal(module, getattr(resumed, group)[name]), (group, name)
    assert resumed.history == full.history
    with pytest.raises(RunRefused, match="other settings"):
        train_translation(tasks[arch], TranslationConfig(arch=arch, **TINY), steps=7, out_dir=tmp_path, resume=True,
                          progress=False)


def test_save_translator_and_quality(tmp_path):
    torch.manual_seed(0)
    g = StarGenerator(width=4, num_domains=2)
    save_translator(tmp_path / "g.pt", "stargan", {"G": g})
    loaded = load_translator(tmp_path / "g.pt")
    assert isinstance(loaded, StarGenerator) and params_equal(loaded, g)
    with pytest.raises(ValueError, match="pass domain"):
        translate(loaded, torch.rand(2, 1, 28, 28))
    x = torch.rand(4, 1, 28, 28)
    assert torch.isinf(psnr(x, x)).all() and torch.allclose(ssim(x, x), torch.ones(4))
    out, target = torch.full((2, 1, 28, 28), 0.5), torch.full((2, 1, 28, 28), 0.6)
    assert psnr(out, target).tolist() == pytest.approx([20.0, 20.0], abs=1e-3)  # 10·log10(1 / 0.01)
    q = translation_quality(nn.Identity(), x, x.clamp(0, 0.9))
    assert q["n"] == 4 and q["ssim"] > 0.9 and q["l1"] > 0
