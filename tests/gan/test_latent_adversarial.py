"""Latent-space adversarial examples of a conditional generator, and the batches that train on them."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from conftest import cached_gan
from robustgan.gan import DCGANGenerator, load_generator
from robustgan.gan.latent_attack import LatentPixelMix, latent_adversarial_batch, latent_attack
from robustgan.optim.latent import ConditionalLatent


def cached_conditional_generator(tmp_path_factory) -> Path:
    """A small class-conditional DCGAN on Fashion-MNIST, trained once per test session."""
    return cached_gan(tmp_path_factory, "conditional", conditional=True, images=4000)


@pytest.fixture(scope="module")
def cgen(tmp_path_factory):
    return load_generator(cached_conditional_generator(tmp_path_factory))


LABELS = torch.arange(10).repeat(4)


def test_conditional_latent_draws_each_sample_as_its_own_class():
    torch.manual_seed(0)
    g = DCGANGenerator(latent_dim=6, width=4, num_classes=3).eval()
    param = ConditionalLatent(g, torch.tensor([2, 0]))
    w = torch.randn(4, 6)  # two restarts of two samples
    with torch.no_grad():
        x = param.to_input_for(w, torch.tensor([0, 1, 0, 1]))
        assert torch.allclose(x, g(w, torch.tensor([2, 0, 2, 0])))
    with pytest.raises(ValueError, match="unconditional"):
        ConditionalLatent(DCGANGenerator(latent_dim=6, width=4), torch.tensor([0]))
    with pytest.raises(ValueError, match="labels"):
        ConditionalLatent(g, torch.tensor([3]))
    with pytest.raises(TypeError):
        ConditionalLatent(g, torch.tensor([0.5]))


def test_latent_attack_fools_the_classifier_from_inside_a_small_latent_ball(cgen, model):
    none = latent_attack(model, cgen, LABELS, eps=0.0, steps=5, seed=1)
    # with no room to move, z stays z0 and the "attack" errs exactly where the classifier errs on G(z0, y)
    assert torch.equal(none.z, none.z0) and torch.equal(none.success, ~none.clean_correct)
    res = latent_attack(model, cgen, LABELS, eps=0.5, steps=10, seed=1)
    assert torch.equal(res.z0, none.z0)  # the same starting latents for the same seed
    assert float((res.z - res.z0).abs().max()) <= 0.5 + 1e-5
    with torch.no_grad():
        assert torch.allclose(cgen(res.z, LABELS), res.x, atol=1e-5)  # x really is G(z, y)
    clean_error = float((~res.clean_correct).double().mean())
    fooled = float(res.success.double().mean())
    assert fooled >= clean_error + 0.3, (fooled, clean_error)
    with torch.no_grad():  # the success flags agree with a fresh forward pass
        assert torch.equal(model(res.x).argmax(1) != LABELS, res.success)
    bigger = latent_attack(model, cgen, LABELS, eps=1.0, steps=10, seed=1)
    assert float(bigger.success.double().mean()) >= fooled - 0.05


def test_judge_term_enters_the_objective(cgen, model):
    """With the attacked model itself as judge at weight 2 the objective becomes +CE: the search helps the model."""
    free = latent_attack(model, cgen, LABELS, eps=0.5, steps=10, seed=2)
    helped = latent_attack(model, cgen, LABELS, eps=0.5, steps=10, seed=2, judge=model, judge_weight=2.0)
    assert helped.judge_agrees is not None and free.judge_agrees is None
    assert float(helped.success.double().mean()) < float(free.success.double().mean())
    assert float(helped.success.double().mean()) <= float((~helped.clean_correct).double().mean())
    # with a judge a success also needs the judge to read class y
    assert not bool((helped.success & ~helped.judge_agrees).any())


def test_latent_attack_leaves_the_models_as_they_were(cgen, bn_net):
    cgen.train()
    before = {k: v.clone() for k, v in cgen.state_dict().items()}
    flags = [p.requires_grad for p in bn_net.parameters()]
    bn_stats = bn_net.bn.running_mean.clone()
    latent_attack(bn_net, cgen, LABELS[:6], eps=0.3, steps=3, seed=0)
    assert cgen.training and bn_net.training
    assert all(torch.equal(before[k], v) for k, v in cgen.state_dict().items())
    assert [p.requires_grad for p in bn_net.parameters()] == flags and torch.equal(bn_net.bn.running_mean, bn_stats)
    assert all(p.grad is None for p in bn_net.parameters()) and all(p.grad is None for p in cgen.parameters())
    cgen.eval()


def test_latent_attack_rejects_bad_input(cgen, model):
    with pytest.raises(ValueError, match="conditional"):
        latent_attack(model, DCGANGenerator(latent_dim=8, width=4), LABELS)
    with pytest.raises(ValueError, match="y must lie"):
        latent_attack(model, cgen, torch.tensor([10]))
    with pytest.raises(ValueError, match="eps"):
        latent_attack(model, cgen, LABELS, eps=-0.1)
    with pytest.raises(TypeError):
        latent_attack(model, cgen, LABELS.float())
    with pytest.raises(ValueError, match="z0"):
        latent_attack(model, cgen, LABELS, z0=torch.zeros(3, 32))


def test_mixed_batch_has_clean_pixel_and_latent_rows(cgen, model, batch):
    x, y = batch[0][:32], batch[1][:32]
    mix = LatentPixelMix(cgen, latent=0.25, pixel=0.25, latent_eps=0.5, latent_steps=3, pixel_eps=0.1, pixel_steps=3,
                         seed=5)
    out = mix(model, x, y)
    assert out.shape == x.shape and float(out.min()) >= 0 and float(out.max()) <= 1
    diff = (out - x).flatten(1).abs().amax(1)
    unchanged, small, large = diff == 0, (diff > 0) & (diff <= 0.1 + 1e-6), diff > 0.1 + 1e-6
    assert int(unchanged.sum()) == 16  # half the batch stays clean
    assert int(small.sum()) == 8  # PGD rows: inside the ε-ball
    assert int(large.sum()) == 8  # generated rows: new images of the same class
    again = LatentPixelMix(cgen, latent=0.25, pixel=0.25, latent_eps=0.5, latent_steps=3, pixel_eps=0.1,
                           pixel_steps=3, seed=5)(model, x, y)
    assert torch.equal(out, again)  # same seed, same bits
    imgs = latent_adversarial_batch(model, cgen, y[:4], eps=0.5, steps=2)
    assert imgs.shape == (4, 1, 28, 28)
    with pytest.raises(ValueError, match="fractions"):
        LatentPixelMix(cgen, latent=0.7, pixel=0.5)
    with pytest.raises(ValueError, match="conditional"):
        LatentPixelMix(DCGANGenerator(latent_dim=8, width=4))


def test_mixed_batches_plug_into_the_trainer_as_a_perturb_hook(cgen, fmnist):
    from torch.utils.data import TensorDataset

    from robustgan.train.job import new_classifier
    from robustgan.train.trainer import TrainConfig, train_classifier
    from robustgan.data import load_dataset as ld

    _, info = ld("fashion-mnist", "test")
    net, _ = new_classifier("small-cnn", info, "fashion-mnist", 0)
    x, y = fmnist[0][:128], fmnist[1][:128]
    mix = LatentPixelMix(cgen, latent=0.5, pixel=0.25, latent_steps=2, pixel_steps=2, seed=0)
    calls = []

    def perturb(m, xb, yb):
        calls.append(xb.shape[0])
        return mix(m, xb, yb)

    hist = train_classifier(net, TensorDataset(x, y), TrainConfig(epochs=1, batch_size=64), perturb=perturb,
                            progress=False)
    assert calls == [64, 64] and len(hist.epochs) == 1 and hist.epochs[0]["loss"] > 0


def test_train_cli_mixes_latent_adversarial_examples(tmp_path_factory, tmp_path, capsys):
    from robustgan.cli import main
    from robustgan.models import load_classifier

    ckpt = cached_conditional_generator(tmp_path_factory)
    out = tmp_path / "latent-at"
    code = main(["train", "--adversarial", "latent", "--generator", str(ckpt), "--epochs", "1",
                 "--train-subset", "256", "--test-subset", "64", "--robust-eval", "32", "--out", str(out), "--quiet"])
    assert code in (0, None)
    meta = torch.load(out / "model.pt", weights_only=True)["meta"]
    assert meta["perturb"]["latent"] == 0.25 and meta["perturb"]["pixel"] == 0.1
    assert 0 <= meta["robust_accuracy"]["accuracy"] <= meta["test_accuracy"] + 1e-9
    load_classifier(out / "model.pt")
    assert main(["train", "--adversarial", "latent", "--epochs", "1", "--out", str(tmp_path / "x"), "--quiet"]) == 2
    assert not (tmp_path / "x").exists() and "--generator" in capsys.readouterr().err


def test_a_resumed_latent_adversarial_run_matches_an_uninterrupted_one(cgen, fmnist, tmp_path):
    from robustgan.models import build_model
    from robustgan.train import TrainConfig, train_classifier

    data = torch.utils.data.TensorDataset(fmnist[0][:96], fmnist[1][:96])

    def run(epochs, ckpt, resume=False):
        torch.manual_seed(0)
        net = build_model("small-cnn", in_channels=1, num_classes=10)
        mix = LatentPixelMix(cgen, latent=0.25, pixel=0.25, latent_steps=2, pixel_steps=2, seed=5)
        train_classifier(net, data, TrainConfig(epochs=epochs, batch_size=32, seed=1), checkpoint=ckpt,
                         resume=resume, perturb=mix, progress=False)
        return net

    whole = run(2, tmp_path / "whole.train.pt")
    run(1, tmp_path / "half.train.pt")
    resumed = run(2, tmp_path / "half.train.pt", resume=True)
    for a, b in zip(whole.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)
    other = LatentPixelMix(cgen, latent=0.5, pixel=0.25, seed=5)
    with pytest.raises(ValueError, match="mix"):
        train_classifier(build_model("small-cnn", in_channels=1, num_classes=10), data,
                         TrainConfig(epochs=3, batch_size=32, seed=1), checkpoint=tmp_path / "half.train.pt",
                         resume=True, perturb=other, progress=False)
