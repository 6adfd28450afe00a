"""Progressive growing: pixel norm, equalised LR, fade-in, schedule, shapes per resolution, training, exact resume."""
from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from robustgan.cli import main
from robustgan.gan import GANConfig, load_generator, train_gan
from robustgan.gan.layers import EqualizedConv2d, EqualizedLinear, PixelNorm, he_scale
from robustgan.gan.progressive import ProgressiveDiscriminator, ProgressiveGenerator, fade, growth_at

TINY = dict(arch="progressive", width=4, batch_size=8, latent_dim=8, progressive_steps=2)


def test_pixel_norm_gives_unit_rms_per_pixel():
    x = torch.tensor([[3.0, 0.0], [4.0, 2.0]]).view(1, 2, 1, 2)  # pixel 0: (3, 4), pixel 1: (0, 2)
    out = PixelNorm()(x)
    expected = torch.tensor([[3 / math.sqrt(12.5), 0.0], [4 / math.sqrt(12.5), 2 / math.sqrt(2.0)]]).view(1, 2, 1, 2)
    assert torch.allclose(out, expected, atol=1e-6)


def test_equalised_layers_scale_unit_weights_by_he_constant_at_runtime():
    torch.manual_seed(0)
    conv, lin = EqualizedConv2d(3, 5, 3, padding=1), EqualizedLinear(8, 2)
    assert conv.scale == pytest.approx(math.sqrt(2 / 27)) and he_scale(8) == pytest.approx(0.5)
    x, v = torch.randn(2, 3, 4, 4), torch.randn(4, 8)
    assert torch.allclose(conv(x), F.conv2d(x, conv.weight * conv.scale, conv.bias, padding=1))
    assert torch.allclose(lin(v), v @ (0.5 * lin.weight).T)
    assert 0.8 < float(EqualizedLinear(256, 256).weight.detach().std()) < 1.2 and not conv.bias.any()  # stored N(0, 1)


def test_fade_blend_at_alpha_0_half_1():
    coarse, fine = torch.full((2, 2), 2.0), torch.full((2, 2), 4.0)
    for alpha, value in ((0.0, 2.0), (0.5, 3.0), (1.0, 4.0)):
        assert torch.equal(fade(coarse, fine, alpha), torch.full((2, 2), value))


def test_schedule_stabilises_then_fades_in_each_resolution():
    got = [growth_at(s, 2, 3) for s in range(8)]
    assert got == [(0, 1.0), (0, 1.0), (1, 0.0), (1, 0.5), (1, 1.0), (1, 1.0), (2, 0.0), (2, 0.5)]
    assert growth_at(10_000, 2, 3) == (2, 1.0)


@pytest.mark.parametrize("size,sides", [(32, (4, 8, 16, 32)), (28, (7, 14, 28))])
def test_output_shapes_at_each_resolution_and_alpha_0_is_the_coarser_network(size, sides):
    torch.manual_seed(0)
    g, d = ProgressiveGenerator(8, size, 3, 4, phase_steps=2), ProgressiveDiscriminator(size, 3, 4, phase_steps=2)
    z = g.sample_latent(4, torch.Generator().manual_seed(1))
    stabilised = None
    for level, side in enumerate(sides):
        step = 0 if level == 0 else 2 + 4 * (level - 1)  # the first step of the level's fade-in (α = 0)
        phases = ((0, 1.0), (1, 1.0)) if level == 0 else ((0, 0.0), (1, 0.5), (2, 1.0))
        for offset, alpha in phases:
            g.advance(step + offset)
            d.advance(step + offset)
            assert g.resolution == side and float(g.alpha) == alpha
            x = g(z)
            assert x.shape == (4, 3, size, size) and 0 <= x.min() and x.max() <= 1  # always full size
            assert d(x).shape == (4,)
            if offset == 0 and stabilised is not None:
                assert torch.equal(x, stabilised)  # α = 0: the new block is not seen yet
        stabilised = x
        pooled = F.avg_pool2d(x, size // side)  # what D sees at this resolution: G's pixels (up to rounding)
        assert torch.allclose(F.interpolate(pooled, scale_factor=size // side), x, atol=1e-6)


def _states(run):
    return {name: m.state_dict() for name, m in
            (("G", run.generator), ("D", run.discriminator), ("E", run.generator_ema))}


def test_six_steps_equal_three_plus_resume_three_bit_for_bit(tmp_path):
    x = torch.rand(40, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    cfg = GANConfig(ema=0.9, **TINY)  # steps 0-1 at 4 px, 2-3 fade in 8 px (α = 0, ½: resumed mid-fade), 4-5 at 8
    straight = train_gan(x, None, cfg, steps=6, progress=False)
    train_gan(x, None, cfg, steps=3, out_dir=tmp_path, progress=False, checkpoint_every=3)
    resumed = train_gan(x, None, cfg, steps=6, out_dir=tmp_path, resume=True, progress=False)
    assert resumed.history == straight.history
    a, b = _states(straight), _states(resumed)
    for name in a:
        assert all(torch.equal(a[name][k], b[name][k]) for k in a[name]), name
    assert resumed.generator.resolution == 8 and float(resumed.generator.alpha) == 1.0
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert ckpt["generator_kwargs"]["kind"] == "progressive" and int(ckpt["generator"]["level"]) == 1
    g = load_generator(tmp_path / "checkpoint.pt")
    assert g.resolution == 8 and g(g.sample_latent(2)).shape == (2, 1, 32, 32)


def test_cli_trains_progressive_and_conditional_losses_are_refused(tmp_path):
    assert main(["gan", "train", "--arch", "progressive", "--split", "test", "-n", "32", "--width", "4",
                 "--latent-dim", "8", "--batch-size", "8", "--steps", "3", "--progressive-steps", "1",
                 "--sample-every", "1000", "--quiet", "--out", str(tmp_path / "run")]) == 0
    assert load_generator(tmp_path / "run" / "checkpoint.pt").resolution == 14
    with pytest.raises(ValueError, match="unconditional"):
        GANConfig(arch="progressive", loss="acgan").resolved()
