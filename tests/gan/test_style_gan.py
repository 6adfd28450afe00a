"""The style-based generator: its layers on hand-computed inputs, truncation, mixing, noise, and training."""
from __future__ import annotations

import json
import math

import pytest
import torch

from robustgan.cli import main
from robustgan.gan import GANConfig, load_generator, train_gan
from robustgan.gan.style import MappingNetwork, StyleGenerator, adain, fixed_noise, modulated_conv2d

TINY_STYLE = dict(arch="style", width=4, batch_size=8, latent_dim=8, mapping_layers=2, d_norm="layer")


def tiny(**kw) -> StyleGenerator:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return StyleGenerator(**{"latent_dim": 8, "width": 4, "mapping_layers": 2, **kw})


def test_modulated_conv_matches_the_hand_computed_values():
    x = torch.tensor([1.0, 2.0]).reshape(1, 2, 1, 1).repeat(2, 1, 1, 1)
    weight = torch.tensor([3.0, 4.0]).reshape(1, 2, 1, 1)
    styles = torch.tensor([[0.5, 2.0], [1.0, 1.0]])
    plain = modulated_conv2d(x, weight, styles, demodulate=False).flatten()
    assert torch.allclose(plain, torch.tensor([0.5 * 3 * 1 + 2 * 4 * 2, 3 + 8.0]))  # 17.5, 11
    demod = modulated_conv2d(x, weight, styles, demodulate=True).flatten()
    assert torch.allclose(demod, torch.tensor([17.5 / math.sqrt(1.5 ** 2 + 8 ** 2), 11 / 5.0]))


def test_demodulation_removes_the_style_scale_and_a_3x3_kernel_is_a_per_sample_conv():
    gen = torch.Generator().manual_seed(1)
    x, w = torch.randn(2, 3, 5, 5, generator=gen), torch.randn(4, 3, 3, 3, generator=gen)
    s = torch.rand(2, 3, generator=gen) + 0.5
    assert torch.allclose(modulated_conv2d(x, w, 7.0 * s), modulated_conv2d(x, w, s), atol=1e-5)
    ref = torch.nn.functional.conv2d(x[1:], w * s[1][None, :, None, None], padding=1)
    assert torch.allclose(modulated_conv2d(x, w, s, demodulate=False)[1:], ref, atol=1e-5)


def test_adain_normalises_each_channel_then_applies_the_style():
    x = torch.tensor([1.0, 3.0]).reshape(1, 1, 1, 2)  # mean 2, std 1
    out = adain(x, torch.tensor([[2.0]]), torch.tensor([[5.0]]))
    assert torch.allclose(out.flatten(), torch.tensor([3.0, 7.0]), atol=1e-6)


def test_mapping_network_shape_and_depth_limit():
    assert MappingNetwork(8, 12, layers=3)(torch.randn(5, 8)).shape == (5, 12)
    with pytest.raises(ValueError, match="mapping_layers"):
        MappingNetwork(8, 8, layers=9)


@pytest.mark.parametrize("size,num_ws", [(28, 6), (32, 8)])
def test_generator_interface_and_image_range(size, num_ws):
    g = tiny(image_size=size).eval()
    z = g.sample_latent(3, torch.Generator().manual_seed(0))
    with torch.no_grad():
        x = g(z)
    assert x.shape == (3, 1, size, size) and float(x.min()) >= 0 and float(x.max()) <= 1
    with torch.no_grad():
        ws = g.broadcast(g.mapping(z))
    assert g.num_ws == num_ws and ws.shape == (3, num_ws, g.w_dim) and torch.equal(g.synthesis(ws), x)
    with pytest.raises(ValueError, match="ws must have shape"):
        g.synthesis(ws[:, 1:])


def test_truncation_psi_zero_is_the_mean_w_and_psi_one_the_identity():
    g = tiny().eval()
    g.w_avg.copy_(torch.randn(g.w_dim))
    ws = g.broadcast(g.mapping(torch.randn(4, 8)))
    assert torch.allclose(g.truncate(ws, 0.0), g.w_avg.expand_as(ws))
    assert torch.equal(g.truncate(ws, 1.0), ws)
    images = g(torch.randn(4, 8), psi=0.0)
    assert torch.allclose(images, images[:1].expand_as(images), atol=1e-6)


def test_style_mixing_switches_to_the_second_w_at_the_crossover_layer():
    g = tiny(style_mixing=1.0)
    ws, ws2 = torch.zeros(2, g.num_ws, g.w_dim), torch.ones(2, g.num_ws, g.w_dim)
    mixed = g.mix(ws, ws2, 2)
    assert torch.equal(mixed[:, :2], ws[:, :2]) and torch.equal(mixed[:, 2:], ws2[:, 2:])
    g.noise_source = torch.Generator().manual_seed(3)
    ws = g.broadcast(g.mapping(torch.randn(2, 8)))
    drawn = g._mixed(ws, 2)
    same = [bool(torch.equal(drawn[:, i], ws[:, i])) for i in range(g.num_ws)]
    cut = same.index(False)
    assert cut >= 1 and not any(same[cut:])  # the first layers keep w, every layer from the crossover on is w2


def test_noise_is_drawn_from_the_source_and_fixed_for_inversion():
    g = tiny(style_mixing=0.0).train()
    for conv in g.convs:  # the learned scales start at 0 (no noise): give the noise a say
        torch.nn.init.constant_(conv.noise.strength, 0.5)
    z = torch.randn(2, 8)

    def draw(seed):
        g.noise_source = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            return g(z)

    assert torch.equal(draw(1), draw(1)) and not torch.equal(draw(1), draw(2))
    with fixed_noise([g]), torch.no_grad():
        assert g.noise_mode == "const" and torch.equal(g(z), g(z))
    assert g.noise_mode == "auto"
    g.eval()
    assert torch.equal(g(z), g(z))  # eval mode: the fixed noise images


def test_training_tracks_w_avg_in_training_mode_only():
    g = tiny()
    before = g.w_avg.clone()
    g.eval()(torch.randn(4, 8))
    assert torch.equal(g.w_avg, before)
    g.train()(torch.randn(4, 8))
    assert not torch.equal(g.w_avg, before)


def _states(run):
    return [m.state_dict() for m in (run.generator, run.discriminator, run.generator_ema)]


def test_gan_trainer_trains_the_style_arch_and_resumes_bit_exactly(tmp_path):
    x = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    cfg = GANConfig(ema=0.9, **TINY_STYLE)
    straight = train_gan(x, None, cfg, steps=6, progress=False)
    assert isinstance(straight.generator, StyleGenerator) and straight.generator.style_mixing == 0.9
    train_gan(x, None, cfg, steps=3, out_dir=tmp_path, progress=False, checkpoint_every=2)
    resumed = train_gan(x, None, cfg, steps=6, out_dir=tmp_path, resume=True, progress=False)
    assert resumed.history == straight.history
    for a, b in zip(_states(straight), _states(resumed)):
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    g = load_generator(tmp_path / "checkpoint.pt")
    assert isinstance(g, StyleGenerator) and torch.equal(g.w_avg, resumed.generator_ema.w_avg)


def test_style_settings_are_checked():
    with pytest.raises(ValueError, match="arch='style'"):
        GANConfig(mapping_layers=2).resolved()
    with pytest.raises(ValueError, match="mapping_layers"):
        GANConfig(arch="style", mapping_layers=12).resolved()
    with pytest.raises(ValueError, match="unconditional"):
        GANConfig(arch="style", loss="acgan").resolved()


def test_cli_trains_the_style_arch_and_samples_with_psi(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["gan", "train", "--arch", "style", "--split", "test", "-n", "32", "--width", "4", "--latent-dim", "8",
                 "--batch-size", "8", "--mapping-layers", "2", "--style-mixing", "0.5", "--steps", "2",
                 "--sample-every", "1000", "--quiet", "--out", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["config"]["mapping_layers"] == 2
    assert main(["gan", "sample", "--generator", str(out / "checkpoint.pt"), "--out", str(tmp_path / "s"), "-n", "4",
                 "--psi", "0.5"]) == 0
    assert (tmp_path / "s" / "samples.png").exists()
    residuals = {}
    for space in ("z", "w+"):
        folder = tmp_path / f"inv-{space}"
        assert main(["invert", "--generator", str(out / "checkpoint.pt"), "--space", space, "-n", "3", "--steps", "15",
                     "--restarts", "1", "--quiet", "--out", str(folder)]) == 0
        saved = torch.load(folder / "inversion.pt", weights_only=True)
        residuals[space] = saved["residuals"]
        assert saved["residuals"].shape == (1, 3) and bool(torch.isfinite(saved["residuals"]).all())
    assert not torch.equal(residuals["z"], residuals["w+"])  # --space reaches the inversion
    with pytest.raises(SystemExit):
        main(["invert", "--generator", str(out / "checkpoint.pt"), "--space", "x", "--quiet", "--out", str(tmp_path / "bad")])
