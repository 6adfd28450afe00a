"""Inversion of a style-based generator in Z, W and W+ (Image2StyleGAN) through the one optimiser."""
from __future__ import annotations

import pytest
import torch

from robustgan.gan import DCGANGenerator
from robustgan.gan.inversion import invert, invert_any
from robustgan.gan.style import StyleGenerator, fixed_noise
from robustgan.optim.style_latents import StyleLatents


def generator_and_images(seed: int = 0, n: int = 4):
    """A tiny random-weight style generator (w̄ estimated as training would) and images it made."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        g = StyleGenerator(latent_dim=8, width=4, mapping_layers=2).eval()
    with torch.no_grad():
        g.w_avg.copy_(g.mapping(torch.randn(256, 8, generator=torch.Generator().manual_seed(1))).mean(0))
        x = g(torch.randn(n, 8, generator=torch.Generator().manual_seed(5)))
    return g, x


@pytest.fixture(scope="module")
def setup():
    return generator_and_images()


def test_w_plus_reaches_a_lower_residual_than_z_at_equal_steps(setup):
    g, x = setup
    res = {space: invert(g, x, space=space, steps=30, lr=0.1, restarts=1) for space in ("z", "w", "w+")}
    assert float(res["w+"].residuals.mean()) < float(res["z"].residuals.mean())
    assert float(res["w"].residuals.mean()) < float(res["z"].residuals.mean())
    assert res["w"].latents.shape == (1, 4, g.w_dim) and res["w+"].latents.shape == (1, 4, g.num_ws, g.w_dim)
    assert res["w+"].space == "w+" and res["z"].space == "z"


def test_residuals_are_pixel_errors_of_the_fixed_noise_generator(setup):
    g, x = setup
    res = invert(g, x, space="w+", steps=5, lr=0.1, restarts=2)
    with torch.no_grad(), fixed_noise([g]):
        again = g.synthesis(res.latents[0])
    assert torch.allclose(again, res.reconstructions[0], atol=1e-6)
    assert torch.allclose(res.residuals[0], (again - x).flatten(1).pow(2).mean(1), atol=1e-7)


def test_starts_at_w_avg_and_more_restarts_never_raise_the_residual(setup):
    g, x = setup
    zero = invert(g, x, space="w", steps=0, restarts=1)
    assert torch.allclose(zero.latents[0], g.w_avg.expand(4, -1))
    one = invert(g, x, space="w", steps=10, lr=0.1, restarts=1)
    three = invert(g, x, space="w", steps=10, lr=0.1, restarts=3)
    assert bool((three.residuals <= one.residuals + 1e-9).all())


def test_inversion_leaves_the_generator_as_it_was(setup):
    g, x = setup
    g.train()
    g.noise_mode = "random"
    before = {k: v.clone() for k, v in g.state_dict().items()}
    invert(g, x[:1], space="w+", steps=2, restarts=1)
    assert g.training and g.noise_mode == "random"
    assert all(torch.equal(before[k], v) for k, v in g.state_dict().items())  # w_avg did not move
    g.eval()
    g.noise_mode = "auto"


def test_w_space_needs_style_generators_and_refuses_clipping(setup):
    g, x = setup
    dcgan = DCGANGenerator(latent_dim=8, width=4)
    with pytest.raises(ValueError, match=r"generators\[1\] is not a style-based generator"):
        invert([g, dcgan], x, space="w")
    with pytest.raises(ValueError, match="clipping"):
        invert(g, x, space="w+", clip=1.0)
    with pytest.raises(ValueError, match="space must be"):
        invert(g, x, space="s")


def test_two_style_generators_batched_as_rows_and_through_invert_any(setup):
    g, x = setup
    other, _ = generator_and_images(seed=3)
    res = invert_any([g, other], x, space="w+", steps=10, lr=0.1, restarts=1)
    assert res.residuals.shape == (2, 4) and res.latents.shape == (2, 4, g.num_ws, g.w_dim)
    assert float(res.residuals[0].mean()) < float(res.residuals[1].mean())  # the images are g's
    param = StyleLatents([g, other], torch.tensor([0, 1]), "w")
    starts = param.initial(torch.randn(4, 8))
    assert torch.allclose(starts[0], g.w_avg) and torch.allclose(starts[1], other.w_avg)
