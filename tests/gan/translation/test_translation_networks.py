"""Translation networks: shapes, [0, 1] outputs, the source_shape contract, StarGAN's to_domain, rebuilding."""
from __future__ import annotations

import pytest
import torch

from robustgan.gan.translation import (PatchDiscriminator, SRDiscriminator, SRGenerator, StarDiscriminator,
                                       StarGenerator, UNetGenerator)
from robustgan.gan.translation.build import build_network, network_spec

GENERATORS = {
    "unet": lambda: UNetGenerator(width=4, dropout=0.5),
    "unet-2to1": lambda: UNetGenerator(in_channels=2, out_channels=1, width=4),
    "sr-x2": lambda: SRGenerator(width=4, blocks=1, scale=2),
    "sr-x4": lambda: SRGenerator(width=4, blocks=1, scale=4),
    "star-to-domain": lambda: StarGenerator(width=4, num_domains=3).to_domain(1),
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_source_shape_contract(name):
    """What provenance relies on: ``source_shape`` says the input, the output is an image in [0, 1]."""
    torch.manual_seed(0)
    g = GENERATORS[name]()
    c, h, w = g.source_shape
    x = torch.rand(3, c, h, w)
    y = g(x)
    assert y.shape == (3, 1, 28, 28)
    assert 0.0 <= float(y.detach().min()) and float(y.detach().max()) <= 1.0
    y.sum().backward()  # differentiable in the source, as inversion over x needs
    with pytest.raises(ValueError, match="takes images of shape"):
        g(torch.rand(3, c, h + 2, w + 2))


def test_sr_source_is_low_resolution():
    assert SRGenerator(scale=2, width=4).source_shape == (1, 14, 14)
    assert SRGenerator(scale=4, width=4).source_shape == (1, 7, 7)
    with pytest.raises(ValueError, match="scale must be 2 or 4"):
        SRGenerator(scale=3)


def test_star_generator_and_to_domain_share_weights():
    torch.manual_seed(0)
    g = StarGenerator(width=4, num_domains=3).eval()
    x = torch.rand(2, 1, 28, 28)
    fixed = g.to_domain(2)
    assert fixed.source_shape == (1, 28, 28)
    assert torch.equal(fixed(x), g(x, 2))
    assert torch.equal(g(x, torch.tensor([2, 2])), g(x, 2))
    assert not torch.equal(g(x, 0), g(x, 2))  # the domain planes change the output
    assert {id(p) for p in fixed.parameters()} == {id(p) for p in g.parameters()}
    for bad in (3, -1, 1.5, True):
        with pytest.raises(ValueError, match="domain must be"):
            g.to_domain(bad)
    with pytest.raises(ValueError, match="domain must lie"):
        g(x, torch.tensor([0, 3]))


def test_discriminator_outputs():
    x = torch.rand(2, 1, 28, 28)
    assert PatchDiscriminator(width=4)(x, x).shape == (2, 1, 7, 7)
    assert PatchDiscriminator(source_channels=0, width=4)(x).shape == (2, 1, 7, 7)
    assert SRDiscriminator(width=4)(x).shape == (2, 1)
    critique = StarDiscriminator(num_domains=3, width=4)(x)
    assert critique.score.shape == (2, 1, 7, 7) and critique.domain_logits.shape == (2, 3)
    with pytest.raises(ValueError, match="conditional"):
        PatchDiscriminator(width=4)(x)
    with pytest.raises(ValueError, match="unconditional"):
        PatchDiscriminator(source_channels=0, width=4)(x, x)


@pytest.mark.parametrize("bad", [dict(width=0), dict(norm="group"), dict(dropout=1.0), dict(image_size=30)])
def test_bad_settings_are_refused(bad):
    with pytest.raises(ValueError):
        UNetGenerator(**bad)


def test_network_spec_rebuilds_the_architecture():
    for net in (UNetGenerator(width=4, norm="instance"), SRGenerator(width=4, scale=4, blocks=2),
                StarDiscriminator(width=4, num_domains=2), PatchDiscriminator(source_channels=0, width=4)):
        rebuilt = build_network(network_spec(net))
        rebuilt.load_state_dict(net.state_dict())
        assert type(rebuilt) is type(net) and rebuilt.config() == net.config()
    with pytest.raises(ValueError, match="unknown translation network"):
        build_network({"class": "Nope", "kwargs": {}})
