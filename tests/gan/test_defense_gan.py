"""Defense-GAN: classification of the projection G(z*), and attacks that see through it (BPDA, EOT)."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from robustgan.gan import DCGANGenerator, load_generator
from robustgan.gan.defense import DefenseGAN, evaluate_defense
from robustgan.gan.inversion import invert
from test_inversion import cached_generators


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    return load_generator(cached_generators(tmp_path_factory)[0])


def test_defended_model_classifies_the_projection(gen, model, fmnist):
    x = fmnist[0][:6]
    d = DefenseGAN(model, gen, steps=40, restarts=2, seed=3)
    logits = d(x)
    proj = invert(gen, x, restarts=2, steps=40, seed=3).reconstructions[0]
    with torch.no_grad():
        assert torch.allclose(logits, model(proj), atol=1e-5)
    # the projection lies on the generator's range: it is far from the real image, close to its own inversion
    assert float((proj - x).flatten(1).pow(2).mean(1).min()) > 1e-3
    assert d.calls == 1 and not torch.equal(d.project(x), proj)  # the next call draws fresh restarts


def test_naive_gradient_is_zero_and_bpda_passes_the_classifier_gradient(gen, model, fmnist):
    x, y = fmnist[0][:4].clone(), fmnist[1][:4]
    naive = DefenseGAN(model, gen, steps=20, restarts=1, seed=0)
    xg = x.clone().requires_grad_(True)
    F.cross_entropy(naive(xg), y).backward()
    assert xg.grad is not None and float(xg.grad.abs().max()) == 0.0

    bpda = DefenseGAN(model, gen, steps=20, restarts=1, seed=0, gradient="bpda")
    proj = DefenseGAN(model, gen, steps=20, restarts=1, seed=0).project(x)
    xg = x.clone().requires_grad_(True)
    F.cross_entropy(bpda(xg), y).backward()
    pg = proj.clone().requires_grad_(True)
    F.cross_entropy(model(pg), y).backward()
    assert float(xg.grad.abs().max()) > 0
    assert torch.allclose(xg.grad, pg.grad, atol=1e-6)  # identity backward: ∂/∂x = ∂/∂G(z*)


def test_evaluation_sees_through_the_projection(gen, model, fmnist):
    x, y = fmnist[0][:16], fmnist[1][:16]
    report = evaluate_defense(model, gen, x, y, eps=0.3, steps=30, restarts=2, attack_steps=5, eot=2, seed=0)
    acc = {k: v["accuracy"] for k, v in report["attacks"].items()}
    assert set(acc) == {"pgd-undefended", "pgd-naive", "pgd-bpda", "pgd-bpda-eot"}
    # the zero gradient moves nothing beyond the random start: the careless number stays near clean accuracy
    assert acc["pgd-naive"] >= report["clean_accuracy_defended"] - 0.15
    # BPDA really attacks: robust accuracy clearly below both the clean and the careless numbers
    assert acc["pgd-bpda"] <= acc["pgd-naive"] - 0.2, acc
    assert report["robust_accuracy"] <= min(acc["pgd-bpda"], acc["pgd-bpda-eot"])
    assert acc["pgd-undefended"] < report["clean_accuracy_classifier"]


def test_defense_leaves_models_as_they_were_and_rejects_bad_input(gen, bn_net, fmnist):
    flags = [p.requires_grad for p in bn_net.parameters()]
    stats = bn_net.bn.running_mean.clone()
    DefenseGAN(bn_net, gen, steps=3, restarts=1)(fmnist[0][:2])
    assert bn_net.training and [p.requires_grad for p in bn_net.parameters()] == flags
    assert torch.equal(bn_net.bn.running_mean, stats)
    with pytest.raises(ValueError, match="gradient"):
        DefenseGAN(bn_net, gen, gradient="exact")
    with pytest.raises(ValueError, match="eot"):
        DefenseGAN(bn_net, gen, eot=0)
    with pytest.raises(ValueError, match="unconditional"):
        DefenseGAN(bn_net, DCGANGenerator(latent_dim=8, width=4, num_classes=3))
    with pytest.raises(TypeError):
        DefenseGAN("net", gen)


def test_defense_gan_command_writes_its_report(tmp_path_factory, tmp_path):
    import json

    from robustgan.cli import main

    ckpt = cached_generators(tmp_path_factory)[0]
    out = tmp_path / "dg"
    assert main(["defense-gan", "--generator", str(ckpt), "-n", "8", "--steps", "20", "--restarts", "2",
                 "--attack-steps", "3", "--eot", "2", "--out", str(out), "--quiet"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert 0 <= report["robust_accuracy"] <= report["clean_accuracy_defended"] <= 1
    assert main(["defense-gan", "--generator", str(ckpt), "-n", "0", "--out", str(out), "--quiet"]) == 2
