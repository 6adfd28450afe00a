"""DCGAN models and variants: shapes, output range, heads, conditioning, config checks, loading."""
from __future__ import annotations

import pytest
import torch

from robustgan.gan import (AutoencoderDiscriminator, DCGANDiscriminator, DCGANGenerator, GANConfig, build_models,
                           load_generator)
from robustgan.gan.build import FORMAT
from robustgan.gan.models import Critique
from robustgan.models.checkpoint import atomic_save


@pytest.mark.parametrize("size,channels", [(28, 1), (32, 3)])
@pytest.mark.parametrize("width", [4, 8])
def test_generator_and_discriminator_shapes_and_ranges(size, channels, width):
    torch.manual_seed(0)
    g = DCGANGenerator(latent_dim=16, image_size=size, channels=channels, width=width)
    d = DCGANDiscriminator(image_size=size, channels=channels, width=width)
    x = g(g.sample_latent(5, torch.Generator().manual_seed(1)))
    assert x.shape == (5, channels, size, size)
    assert 0 <= float(x.min()) and float(x.max()) <= 1  # [0, 1] at the API boundary
    assert d(x).shape == (5,)
    assert isinstance(d.critique(x), Critique) and d.critique(x).class_logits is None


def test_width_knob_scales_the_channels():
    small, big = DCGANGenerator(width=8), DCGANGenerator(width=16)
    assert sum(p.numel() for p in big.parameters()) > 2 * sum(p.numel() for p in small.parameters())
    assert small.main[0].out_channels == 32 and big.main[0].out_channels == 64


def test_conditional_models_need_and_use_labels():
    torch.manual_seed(0)
    g = DCGANGenerator(latent_dim=8, width=4, num_classes=10).eval()
    d = DCGANDiscriminator(width=4, num_classes=10).eval()
    z = torch.randn(3, 8)
    with pytest.raises(ValueError, match="labels"):
        g(z)
    with pytest.raises(ValueError, match="shape"):
        g(z, torch.tensor([1, 2]))
    a, b = g(z, torch.tensor([0, 0, 0])), g(z, torch.tensor([5, 5, 5]))
    assert not torch.allclose(a, b)  # the class changes the image
    assert not torch.allclose(d(a, torch.tensor([0, 0, 0])), d(a, torch.tensor([5, 5, 5])))


def test_acgan_and_infogan_heads():
    d = DCGANDiscriminator(width=4, aux_classes=10)
    c = d.critique(torch.rand(2, 1, 28, 28))
    assert c.class_logits.shape == (2, 10) and c.code_logits is None
    g = DCGANGenerator(latent_dim=20, width=4, code_categorical=10, code_continuous=2)
    assert g.noise_dim == 8
    z = g.sample_latent(6, torch.Generator().manual_seed(0))
    onehot = z[:, 8:18]
    assert torch.equal(onehot.sum(1), torch.ones(6)) and set(onehot.unique().tolist()) == {0.0, 1.0}
    assert (z[:, 18:].abs() <= 1).all()
    cat, cont = g.split_codes(g.with_codes(z, torch.tensor([3] * 6), torch.zeros(6, 2)))
    assert cat.tolist() == [3] * 6 and torch.equal(cont, torch.zeros(6, 2))
    q = DCGANDiscriminator(width=4, code_categorical=10, code_continuous=2).critique(torch.rand(2, 1, 28, 28))
    assert q.code_logits.shape == (2, 10) and q.code_cont.shape == (2, 2)


@pytest.mark.parametrize("energy", ["l1", "l2"])
def test_autoencoder_discriminator_energy_is_its_reconstruction_error(energy):
    torch.manual_seed(0)
    d = AutoencoderDiscriminator(width=4, code_dim=8, energy=energy).eval()
    x = torch.rand(3, 1, 28, 28)
    c = d.critique(x)
    rec = d.reconstruct(x)
    diff = (rec * 2 - 1) - (x * 2 - 1)
    expected = diff.abs() if energy == "l1" else diff.pow(2)
    assert torch.allclose(c.score, expected.flatten(1).mean(1), atol=1e-6)
    assert c.embedding.shape == (3, 8) and (c.score >= 0).all()


def test_bad_arguments_fail_early():
    with pytest.raises(ValueError, match="image_size"):
        DCGANGenerator(image_size=64)
    with pytest.raises(ValueError, match="width"):
        DCGANDiscriminator(width=0)
    with pytest.raises(ValueError, match="norm"):
        DCGANDiscriminator(norm="instance")
    with pytest.raises(ValueError, match="z must have shape"):
        DCGANGenerator(latent_dim=10)(torch.randn(2, 11))
    with pytest.raises(ValueError, match="no noise"):
        DCGANGenerator(latent_dim=12, code_categorical=10, code_continuous=2)


def test_config_resolves_loss_defaults_and_rejects_nonsense():
    cfg = GANConfig(loss="wgan-gp").resolved()
    assert (cfg.optimizer, cfg.lr_d, cfg.betas, cfg.d_steps, cfg.d_norm) == ("adam", 1e-4, (0.0, 0.9), 5, "layer")
    assert GANConfig(loss="wgan").resolved().optimizer == "rmsprop"
    assert GANConfig(loss="cgan").resolved().conditional
    assert GANConfig(loss="wgan-gp", d_steps=2, d_norm="none").resolved().d_steps == 2
    for bad in (dict(loss="nope"), dict(width=0), dict(ema=1.0), dict(label_smoothing=0.6),
                dict(loss="wgan", label_smoothing=0.1), dict(loss="began", conditional=True), dict(d_steps=0),
                dict(d_norm="group"), dict(lr_g=-1.0)):
        with pytest.raises(ValueError):
            GANConfig(**bad).resolved()
    assert GANConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize("loss", ["non-saturating", "wgan-gp", "acgan", "infogan", "ebgan"])
def test_build_models_is_seeded_and_leaves_the_global_rng_alone(loss):
    state = torch.get_rng_state()
    g1, d1 = build_models(GANConfig(loss=loss, width=4), 28, 1, num_classes=10)
    g2, _ = build_models(GANConfig(loss=loss, width=4), 28, 1, num_classes=10)
    g3, _ = build_models(GANConfig(loss=loss, width=4, seed=1), 28, 1, num_classes=10)
    assert torch.equal(state, torch.get_rng_state())
    assert all(torch.equal(a, b) for a, b in zip(g1.state_dict().values(), g2.state_dict().values()))
    assert not all(torch.equal(a, b) for a, b in zip(g1.state_dict().values(), g3.state_dict().values()))


def test_spectral_norm_bounds_the_discriminator_layers():
    g, d = build_models(GANConfig(width=4, spectral_norm=True, d_norm="none"), 28, 1)
    convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(hasattr(m, "parametrizations") for m in convs)
    d.train()
    for _ in range(30):  # power iteration converges in train mode
        d(torch.rand(4, 1, 28, 28))
    d.eval()
    for m in convs:
        assert torch.linalg.matrix_norm(m.weight.flatten(1), ord=2) <= 1.05


def test_load_generator_rebuilds_the_generator_with_its_public_attributes(tmp_path):
    g, _ = build_models(GANConfig(loss="cgan", width=4, latent_dim=12), 28, 1, num_classes=10)
    ema = {k: v + 1 if v.is_floating_point() else v for k, v in g.state_dict().items()}
    path = tmp_path / "g.pt"
    atomic_save({"format": FORMAT, "generator_kwargs": g.config(), "generator": g.state_dict(),
                 "generator_ema": ema}, path)
    loaded = load_generator(path, ema=False)
    assert isinstance(loaded, torch.nn.Module) and not loaded.training
    assert (loaded.latent_dim, loaded.num_classes, loaded.image_size, loaded.channels) == (12, 10, 28, 1)
    assert all(torch.equal(a, b) for a, b in zip(g.state_dict().values(), loaded.state_dict().values()))
    assert torch.equal(load_generator(path).main[0].weight, ema["main.0.weight"])
    torch.save({"format": "something-else"}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a robustgan GAN checkpoint"):
        load_generator(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError):
        load_generator(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="corrupt"):
        load_generator(tmp_path / "junk.pt")
