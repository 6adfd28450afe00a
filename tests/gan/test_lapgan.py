"""LAPGAN: the pyramid, the generator's DCGAN-like interface, per-level training, resume, inversion."""
from __future__ import annotations

import pytest
import torch

from robustgan.gan import DCGANGenerator, GANConfig, load_generator, train_gan
from robustgan.gan.inversion import invert
from robustgan.gan.lapgan import LAPGANDiscriminator, LAPGANGenerator, laplacian_pairs, upsample
from robustgan.gan.progressive import ProgressiveGenerator

TINY = dict(arch="lapgan", width=4, batch_size=8, latent_dim=8)


@pytest.mark.parametrize("size,sides", [(28, (7, 14, 28)), (32, (8, 16, 32))])
def test_pyramid_reconstructs_the_image_from_coarse_plus_residuals(size, sides):
    x = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1
    coarse, pairs = laplacian_pairs(x, 3)
    assert coarse.shape[-1] == sides[0] and [h.shape[-1] for _, h in pairs] == list(sides[1:])
    image = coarse
    for _, residual in pairs:
        image = upsample(image) + residual
    assert torch.allclose(image, x, atol=1e-5)


@pytest.mark.parametrize("size,sides", [(28, (7, 14, 28)), (32, (8, 16, 32))])
def test_generator_samples_coarse_to_fine_with_the_dcgan_interface(size, sides):
    torch.manual_seed(0)
    g = LAPGANGenerator(latent_dim=8, image_size=size, channels=3, width=4)
    assert g.latent_dim == 8 + sum(s * s for s in sides[1:]) and g.num_classes == 0
    z = g.sample_latent(4, torch.Generator().manual_seed(1))
    x = g(z)
    assert x.shape == (4, 3, size, size) and 0 <= x.min() and x.max() <= 1
    parts = g.split(z)
    assert [p.shape[1:] for p in parts[1:]] == [(1, s, s) for s in sides[1:]]
    d = LAPGANDiscriminator(image_size=size, channels=3, width=4, minibatch_discrimination=2)
    coarse, pairs = laplacian_pairs(x * 2 - 1, 3)
    assert d.level(0, coarse).score.shape == (4,)
    assert all(d.level(k, torch.cat(p, 1)).score.shape == (4,) for k, p in enumerate(pairs, 1))
    with pytest.raises(ValueError, match="z must have shape"):
        g(torch.zeros(4, 8))


def test_levels_train_with_the_table_losses_and_resume_exactly(tmp_path):
    x = torch.rand(40, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    for loss in ("non-saturating", "wgan-gp", "hinge"):
        run = train_gan(x, None, GANConfig(loss=loss, d_steps=1, **TINY), steps=2, progress=False)
        assert torch.isfinite(torch.tensor(run.history[-1]["d_loss"])), loss
    cfg = GANConfig(ema=0.9, minibatch_discrimination=2, **TINY)
    straight = train_gan(x, None, cfg, steps=4, progress=False)
    train_gan(x, None, cfg, steps=2, out_dir=tmp_path, progress=False, checkpoint_every=2)
    resumed = train_gan(x, None, cfg, steps=4, out_dir=tmp_path, resume=True, progress=False)
    assert resumed.history == straight.history
    for a, b in ((straight.generator, resumed.generator), (straight.discriminator, resumed.discriminator)):
        assert all(torch.equal(u, v) for u, v in zip(a.state_dict().values(), b.state_dict().values()))
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert ckpt["generator_kwargs"]["kind"] == "lapgan"
    g = load_generator(tmp_path / "checkpoint.pt")
    assert isinstance(g, LAPGANGenerator) and g(g.sample_latent(2)).shape == (2, 1, 28, 28)


def test_inversion_takes_lapgan_and_progressive_beside_dcgan():
    torch.manual_seed(0)
    gens = [LAPGANGenerator(8, 28, 1, 4).eval(), ProgressiveGenerator(8, 28, 1, 4).eval(),
            DCGANGenerator(8, 28, 1, 4).eval()]
    images = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    result = invert(gens, images, restarts=1, steps=2)
    assert result.reconstructions.shape[:2] == (3, 2) and torch.isfinite(result.residuals).all()
