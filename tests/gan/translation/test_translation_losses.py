"""Translation losses: values on small hand-computed inputs, and the sign of their gradients."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from robustgan.gan.translation import losses as L

LOG2 = math.log(2.0)


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_discriminator_loss_values():
    zeros = torch.zeros(2, 1, 3, 3)
    assert L.discriminator_loss(zeros, zeros).item() == pytest.approx(LOG2)
    real, fake = torch.tensor([2.0]), torch.tensor([-1.0])
    # ½[−log σ(2) − log(1 − σ(−1))] = ½[softplus(−2) + softplus(−1)]
    assert L.discriminator_loss(real, fake).item() == pytest.approx(0.5 * (softplus(-2) + softplus(-1)))
    assert L.discriminator_loss(torch.tensor([0.5]), torch.tensor([0.25]), "lsgan").item() == pytest.approx(
        0.5 * (0.25 + 0.0625))


def test_generator_adversarial_values():
    assert L.generator_adversarial_loss(torch.zeros(4)).item() == pytest.approx(LOG2)
    assert L.generator_adversarial_loss(torch.tensor([1.0])).item() == pytest.approx(softplus(-1))
    assert L.generator_adversarial_loss(torch.tensor([0.5, 1.5]), "lsgan").item() == pytest.approx(0.25)


def test_pix2pix_loss_is_cgan_plus_weighted_l1():
    out, target = torch.tensor([0.2, 0.4]), torch.tensor([0.0, 1.0])
    assert L.l1_loss(out, target).item() == pytest.approx(0.4)
    assert L.pix2pix_generator_loss(torch.zeros(3), out, target).item() == pytest.approx(LOG2 + 40.0)
    assert L.pix2pix_generator_loss(torch.zeros(3), out, target, lambda_l1=1.0).item() == pytest.approx(LOG2 + 0.4)


def test_cycle_and_identity_values():
    a, b = torch.zeros(2, 1, 2, 2), torch.ones(2, 1, 2, 2)
    assert L.cycle_consistency_loss(a + 0.1, a, b - 0.3, b).item() == pytest.approx(10 * 0.4)
    assert L.cycle_consistency_loss(a + 0.1, a, b - 0.3, b, lambda_cycle=1.0).item() == pytest.approx(0.4)
    assert L.identity_loss(a + 0.2, a, b, b).item() == pytest.approx(5 * 0.2)


def test_domain_and_reconstruction_values():
    assert L.domain_classification_loss(torch.zeros(3, 4), torch.tensor([0, 1, 3])).item() == pytest.approx(math.log(4))
    x = torch.zeros(1, 1, 2, 2)
    assert L.reconstruction_loss(x + 0.25, x).item() == pytest.approx(0.25)
    d = L.stargan_discriminator_loss(torch.zeros(1), torch.zeros(1), torch.zeros(2, 4), torch.tensor([0, 2]), 2.0)
    assert d.item() == pytest.approx(LOG2 + 2 * math.log(4))
    g = L.stargan_generator_loss(torch.zeros(1), torch.zeros(1, 4), torch.tensor([1]), x + 0.25, x, 1.0, 10.0)
    assert g.item() == pytest.approx(LOG2 + math.log(4) + 2.5)


def test_srgan_loss_weights_the_adversarial_term():
    content = torch.tensor(0.5)
    assert L.srgan_generator_loss(content, torch.zeros(2, 1)).item() == pytest.approx(0.5 + 1e-3 * LOG2)
    assert L.srgan_generator_loss(content, None).item() == 0.5


def test_perceptual_loss_is_feature_mse_and_leaves_the_network_alone():
    net = nn.Sequential(nn.Conv2d(1, 1, 1, bias=False), nn.ReLU())
    with torch.no_grad():
        net[0].weight.fill_(2.0)
    net.train()
    out = torch.full((1, 1, 2, 2), 0.5, requires_grad=True)
    target = torch.full((1, 1, 2, 2), 0.25)
    loss = L.perceptual_loss(net, "0", out, target)
    assert loss.item() == pytest.approx((2 * 0.5 - 2 * 0.25) ** 2)
    loss.backward()
    assert (out.grad > 0).all()  # features above the target's: descend toward it
    assert net.training and net[0].weight.requires_grad and net[0].weight.grad is None
    with pytest.raises(ValueError, match="unknown layer"):
        L.perceptual_loss(net, "nope", out, target)


@pytest.mark.parametrize("kind", ["bce", "lsgan"])
def test_gradient_signs_of_the_adversarial_game(kind):
    real = torch.full((2, 1, 3, 3), 0.3, requires_grad=True)
    fake = torch.full((2, 1, 3, 3), 0.3, requires_grad=True)
    L.discriminator_loss(real, fake, kind).backward()
    assert (real.grad < 0).all() and (fake.grad > 0).all()  # D raises real logits, lowers fake ones
    fake_g = torch.full((2, 1, 3, 3), 0.3, requires_grad=True)
    L.generator_adversarial_loss(fake_g, kind).backward()
    assert (fake_g.grad < 0).all()  # G raises the logits of its outputs


def test_gradient_signs_of_reconstruction_terms():
    out = torch.tensor([0.2, 0.9], requires_grad=True)
    target = torch.tensor([0.5, 0.5])
    L.pix2pix_generator_loss(torch.zeros(1), out, target).backward()
    assert out.grad.tolist() == pytest.approx([-50.0, 50.0])  # λ·sign(out − target)/n
    rec = torch.tensor([0.7], requires_grad=True)
    L.cycle_consistency_loss(rec, torch.tensor([0.5]), torch.tensor([0.0]), torch.tensor([0.0])).backward()
    assert rec.grad.item() == pytest.approx(10.0)


def test_unknown_gan_loss_is_refused():
    with pytest.raises(ValueError, match="GAN loss must be one of"):
        L.discriminator_loss(torch.zeros(1), torch.zeros(1), "wgan")
