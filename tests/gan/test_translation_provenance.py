"""Inversion and attribution of image-conditioned generators (source as the variable), mixed with latent ones.

The generators are tiny random-init conv nets (upsamplers of a low-resolution source, as SRGAN is),
so the tests need nothing from robustgan.gan.translation.
"""
from __future__ import annotations

from typing import Optional, Sequence

import pytest
import torch
from torch import nn

from robustgan.gan.inversion import (NONE, MixedInversion, SourceInversion, attribute_images, attribution_experiment,
                                     calibrate, invert, invert_any, invert_sources, load_scripted_generator,
                                     operator_consistency, resized)

STEPS = dict(restarts=2, steps=150, seed=0)


class Upsampler(nn.Module):
    """A random conv net from a source (C′, H′, W′) in [0, 1] to a 1×28×28 image in [0, 1] (``pool``
    first averages the source: an edge-map-sized source with few degrees of freedom)."""

    def __init__(self, seed: int, source_shape: Sequence[int] = (1, 7, 7), width: int = 4, pool: int = 1):
        super().__init__()
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.net = nn.Sequential(nn.AvgPool2d(pool), nn.Upsample(size=(28, 28), mode="bilinear"),
                                     nn.Conv2d(source_shape[0], width, 3, padding=1), nn.BatchNorm2d(width), nn.Tanh(),
                                     nn.Conv2d(width, 1, 3, padding=1))
        self.source_shape = tuple(source_shape)
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(4 * self.net(x))


class LatentMLP(nn.Module):
    """A random latent generator z (8) → 1×28×28 image in [0, 1]."""

    def __init__(self, seed: int, latent_dim: int = 8):
        super().__init__()
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.net = nn.Sequential(nn.Linear(latent_dim, 64), nn.Tanh(), nn.Linear(64, 784), nn.Sigmoid(),
                                     nn.Unflatten(1, (1, 28, 28)))
        self.latent_dim = latent_dim

    def forward(self, z: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.net(3 * z)


def planted(generator: nn.Module, n: int, seed: int):
    """``n`` sources drawn uniformly and the images ``generator`` makes of them."""
    x = torch.rand(n, *generator.source_shape, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return x, generator(x)


@pytest.fixture(scope="module")
def upsamplers():
    return [Upsampler(seed) for seed in range(3)]


def test_planted_sources_are_recovered_and_real_images_are_not(upsamplers, fmnist):
    sources, made = zip(*(planted(g, 3, seed=10 + k) for k, g in enumerate(upsamplers)))
    real = fmnist[0][:4]
    res = invert_sources(upsamplers, torch.cat([*made, real]), **STEPS)
    assert isinstance(res, SourceInversion) and res.residuals.shape == (3, 13)
    assert res.reconstructions.shape == (3, 13, 1, 28, 28) and res.sources[0].shape == (13, 1, 7, 7)
    own = torch.stack([res.residuals[k, 3 * k:3 * k + 3] for k in range(3)])
    assert float(own.max()) < 1e-6, own
    assert res.best[:9].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    others = torch.cat([res.residuals[j, 3 * k:3 * k + 3] for k in range(3) for j in range(3) if j != k])
    assert float(others.min()) > 100 * float(own.max())
    assert float(res.residuals[:, 9:].min()) > 10 * float(others.median())  # real images are far off every range
    assert float((res.sources[0][:3] - sources[0]).abs().max()) < 0.02  # the planted source itself
    assert float(res.sources[0].min()) >= 0 and float(res.sources[0].max()) <= 1  # kept in the box
    with torch.no_grad():  # the kept source does make the kept reconstruction
        assert torch.allclose(upsamplers[1](res.sources[1]), res.reconstructions[1], atol=1e-6)


def test_attribution_experiment_among_three_image_conditioned_generators(upsamplers, fmnist):
    x = fmnist[0]
    run = attribution_experiment(upsamplers, x[:6], x[6:22], num_generated=3, fpr=0.05, restarts=2, steps=100)
    # at a 5% false-positive rate on the held-out images, one real test image in six may be let through
    assert run.report["accuracy_generated"] == 1.0 and run.report["real_labelled_none"] >= 5 / 6
    assert run.report["calibration_fpr"] <= 0.05
    assert run.truth.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2] + [NONE] * 6
    assert isinstance(run.inversion, SourceInversion) and run.inversion.residuals.shape == (3, 15)
    # given sources make the test images; a wrong shape is refused
    given = [planted(g, 3, seed=k)[0] for k, g in enumerate(upsamplers)]
    again = attribution_experiment(upsamplers, x[:0], x[6:8], num_generated=2, sources=given, restarts=1, steps=1)
    with torch.no_grad():
        assert torch.allclose(again.images[:2], upsamplers[0](given[0][:2]))
    with pytest.raises(ValueError, match="sources of shape"):
        attribution_experiment(upsamplers, x[:0], x[6:16], num_generated=2, sources=[torch.rand(2, 1, 5, 5)] * 3)


def test_sources_of_different_shapes_share_one_run(fmnist):
    gens = [Upsampler(3, (2, 5, 5)), Upsampler(4, (1, 28, 28), pool=4), Upsampler(5, (1, 14, 14))]
    images = torch.cat([planted(g, 2, seed=k)[1] for k, g in enumerate(gens)])
    res = invert_sources(gens, images, **STEPS)
    assert [tuple(s.shape) for s in res.sources] == [(6, 2, 5, 5), (6, 1, 28, 28), (6, 1, 14, 14)]
    assert float(max(res.residuals[k, 2 * k:2 * k + 2].max() for k in range(3))) < 1e-6, res.residuals
    with torch.no_grad():
        for k, g in enumerate(gens):
            assert torch.allclose(g(res.sources[k]), res.reconstructions[k], atol=1e-6)
    # an init sets restart 0's start: with no steps the kept source is the resized image
    start = invert_sources(gens[2], images, restarts=1, steps=0, init=resized((1, 14, 14)))
    assert torch.allclose(start.sources[0], resized((1, 14, 14))(images))
    # the shape may be given instead of read; a wrong one fails before the run
    bare = nn.Sequential(nn.Upsample(size=(28, 28)), nn.Sigmoid())
    given = invert_sources(bare, images[:1], source_shapes=[(1, 7, 7)], restarts=1, steps=2)
    assert given.sources[0].shape == (1, 1, 7, 7)
    with pytest.raises(ValueError, match="source_shape"):
        invert_sources(bare, images[:1])
    with pytest.raises(ValueError, match="maps sources"):
        invert_sources(gens[0], fmnist[0][:1].repeat(1, 1, 2, 2), restarts=1, steps=1)


def test_priors_enter_the_objective_and_seeds_give_the_same_bits(upsamplers):
    images = planted(upsamplers[0], 3, seed=2)[1]
    edge_like = operator_consistency(lambda y: torch.nn.functional.avg_pool2d(y, 4))
    kwargs = dict(restarts=2, steps=20, tv_weight=0.1, source_term=edge_like, source_weight=0.5)
    a, b = (invert_sources(upsamplers, images, seed=3, **kwargs) for _ in range(2))
    for x, y in zip([*a.sources, a.reconstructions, a.residuals, a.loss], [*b.sources, b.reconstructions, b.residuals,
                                                                         b.loss]):
        assert torch.equal(x, y)
    c = invert_sources(upsamplers, images, seed=4, **kwargs)
    assert not torch.equal(a.sources[1], c.sources[1])
    plain = invert_sources(upsamplers, images, seed=3, restarts=2, steps=20)
    assert bool((a.loss > a.residuals).all()) and torch.allclose(plain.loss, plain.residuals)


def test_the_callers_generator_is_left_as_it_was(fmnist):
    g = Upsampler(7)
    g.train()
    g.net[2].weight.requires_grad_(False)
    g.net[5].weight.grad = torch.ones_like(g.net[5].weight)
    before = {k: v.clone() for k, v in g.state_dict().items()}
    flags = [p.requires_grad for p in g.parameters()]
    invert_sources(g, fmnist[0][:2], restarts=2, steps=3)
    invert_any([g, LatentMLP(0)], fmnist[0][:2], restarts=1, steps=2)
    assert g.training and all(m.training for m in g.modules())
    assert [p.requires_grad for p in g.parameters()] == flags
    assert all(torch.equal(v, g.state_dict()[k]) for k, v in before.items())  # BatchNorm statistics too
    assert torch.equal(g.net[5].weight.grad, torch.ones_like(g.net[5].weight)) and g.net[2].weight.grad is None


def test_latent_and_image_conditioned_generators_side_by_side(upsamplers, fmnist):
    latent = LatentMLP(1)
    with torch.no_grad():
        made = latent(torch.randn(2, 8, generator=torch.Generator().manual_seed(5)))
    gens = [upsamplers[0], latent, upsamplers[1]]
    images = torch.cat([planted(upsamplers[0], 2, 1)[1], made, planted(upsamplers[1], 2, 2)[1], fmnist[0][:2]])
    quick = dict(restarts=2, steps=10, seed=1)
    res = invert_any(gens, images, **quick)
    assert isinstance(res, MixedInversion) and res.kinds == ["source", "latent", "source"]
    assert [tuple(v.shape) for v in res.variables] == [(8, 1, 7, 7), (8, 8), (8, 1, 7, 7)]
    # the same numbers as the two kinds' own runs; source settings reach the source run alone
    assert torch.equal(res.residuals[1], invert(latent, images, **quick).residuals[0])
    assert torch.equal(res.residuals[[0, 2]], invert_sources(gens[::2], images, **quick).residuals)
    assert torch.equal(res.select(slice(2, 4)).residuals, res.residuals[:, 2:4])
    tv = invert_any(gens, images, source_kwargs=dict(tv_weight=1.0), **quick)
    assert torch.equal(tv.loss[1], res.loss[1]) and bool((tv.loss[0] > res.loss[0]).all())
    # per-generator settings listed for all three generators or for the two image-conditioned ones
    starts = [invert_any(gens, images, restarts=1, steps=0, source_kwargs=dict(init=inits)).variables[2]
              for inits in ([None, None, resized((1, 7, 7))], [None, resized((1, 7, 7))])]
    assert torch.equal(starts[0], starts[1]) and torch.allclose(starts[0], resized((1, 7, 7))(images))
    threshold = calibrate(gens, fmnist[0][10:26], 0.05, **STEPS)
    att = attribute_images(gens, images, threshold, **STEPS)
    assert att.decision.tolist() == [0, 0, 1, 1, 2, 2, NONE, NONE]


@pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")
def test_torchscript_generators_round_trip(tmp_path, upsamplers, fmnist):
    src, lat = upsamplers[2], LatentMLP(2)
    torch.jit.save(torch.jit.script(src), tmp_path / "sr.pt")
    torch.jit.save(torch.jit.script(lat), tmp_path / "latent.pt")
    g_src = load_scripted_generator(tmp_path / "sr.pt", source_shape=(1, 7, 7))
    g_lat = load_scripted_generator(tmp_path / "latent.pt", latent_dim=8)
    x, made = planted(src, 2, seed=8)
    with torch.no_grad():
        assert torch.equal(g_src(x), made)
    z = g_lat.sample_latent(2, torch.Generator().manual_seed(1))
    with torch.no_grad():
        images = torch.cat([made, g_lat(z), fmnist[0][:2]])
    gens = [g_src, g_lat, upsamplers[0]]
    threshold = calibrate(gens, fmnist[0][10:26], 0.05, **STEPS)
    assert attribute_images(gens, images, threshold, **STEPS).decision.tolist() == [0, 0, 1, 1, NONE, NONE]
    with pytest.raises(ValueError, match="exactly one"):
        load_scripted_generator(tmp_path / "sr.pt")
    with pytest.raises(ValueError, match="exactly one"):
        load_scripted_generator(tmp_path / "sr.pt", latent_dim=8, source_shape=(1, 7, 7))
    with pytest.raises(ValueError, match="does not take inputs of shape"):
        load_scripted_generator(tmp_path / "latent.pt", latent_dim=5)
    with pytest.raises(FileNotFoundError):
        load_scripted_generator(tmp_path / "missing.pt", latent_dim=8)
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="TorchScript"):
        load_scripted_generator(tmp_path / "junk.pt", source_shape=(1, 7, 7))


def test_round_trip_prior_is_zero_on_the_sources_domain_and_enters_the_objective(upsamplers):
    from robustgan.gan.inversion.conditioned import round_trip

    class Nearest(nn.Module):
        source_shape = (1, 7, 7)

        def forward(self, x):
            return torch.nn.functional.interpolate(x, size=(28, 28), mode="nearest")

    down = lambda y: torch.nn.functional.avg_pool2d(y, 4)  # noqa: E731
    x = torch.rand(5, 1, 7, 7, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(round_trip(Nearest(), down)(x, None), torch.zeros(5), atol=1e-12)
    flipped = round_trip(Nearest(), lambda y: 1 - down(y))(x, None)
    assert torch.allclose(flipped, (2 * x - 1).pow(2).reshape(5, -1).mean(1))
    with pytest.raises(ValueError, match="way back"):
        round_trip(Nearest(), lambda y: y)(x, None)
    images = planted(upsamplers[0], 3, seed=2)[1]
    res = invert_sources(upsamplers[0], images, restarts=1, steps=10, seed=0,
                         source_term=round_trip(upsamplers[0], down), source_weight=1.0)
    assert bool((res.loss > res.residuals).all())


def test_a_generator_may_start_each_of_its_restarts_from_its_own_init(upsamplers):
    sources, made = planted(upsamplers[0], 3, seed=30)
    near, far = (lambda y: sources + 0.01), (lambda y: torch.zeros_like(sources))
    one = invert_sources(upsamplers[0], made, restarts=2, steps=1, lr=1e-9, seed=0, init=[[far, near]])
    assert float(one.residuals.max()) < 1e-4                  # restart 1 started next to the planted source
    only_far = invert_sources(upsamplers[0], made, restarts=2, steps=1, lr=1e-9, seed=0, init=[[far]])
    assert float(only_far.residuals.min()) > float(one.residuals.max())
    with pytest.raises(ValueError, match="restart"):
        invert_sources(upsamplers[0], made, restarts=1, steps=1, seed=0, init=[[far, near]])

