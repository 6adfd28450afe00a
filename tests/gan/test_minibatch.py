"""Minibatch discrimination and minibatch std: values on hand-computed inputs; the option in D and the CLI."""
from __future__ import annotations

import json
import math

import pytest
import torch

from robustgan.cli import main
from robustgan.gan import DCGANDiscriminator, GANConfig, load_checkpoint, train_gan
from robustgan.gan.autoencoder import AutoencoderDiscriminator
from robustgan.gan.layers import MinibatchDiscrimination, MinibatchStd

ROWS = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
e = math.exp


def _layer(kernels: int, kernel_dim: int) -> MinibatchDiscrimination:
    layer = MinibatchDiscrimination(2, kernels, kernel_dim)
    with torch.no_grad():
        layer.T.copy_(torch.eye(2))  # M_i = f_i
    return layer


def test_minibatch_discrimination_one_kernel_of_dimension_two():
    out = _layer(1, 2)(ROWS)  # L1 distances: d01 = 1, d02 = 2, d12 = 3; j = i counts exp(0) = 1
    expected = torch.tensor([1 + e(-1) + e(-2), 1 + e(-1) + e(-3), 1 + e(-2) + e(-3)])
    assert out.shape == (3, 3)
    assert torch.equal(out[:, :2], ROWS)  # the features pass through, o is concatenated
    assert torch.allclose(out[:, 2], expected, atol=1e-6)


def test_minibatch_discrimination_two_kernels_of_dimension_one():
    out = _layer(2, 1)(ROWS)  # kernel 0 sees the first coordinate (0, 1, 0), kernel 1 the second (0, 0, 2)
    expected = torch.tensor([[2 + e(-1), 2 + e(-2)], [1 + 2 * e(-1), 2 + e(-2)], [2 + e(-1), 1 + 2 * e(-2)]])
    assert torch.allclose(out[:, 2:], expected, atol=1e-6)
    alone = _layer(2, 1)(ROWS[:1])
    assert torch.equal(alone[:, 2:], torch.ones(1, 2))  # a batch of one: o = 1
    with pytest.raises(ValueError, match="shape"):
        _layer(2, 1)(torch.zeros(3, 5))


def test_minibatch_std_per_group_and_whole_batch():
    x = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 4.0], [1.0, 3.0]]).view(4, 1, 1, 2)
    out = MinibatchStd(group_size=2)(x)  # groups {0, 2}: stds (1, 2) → 1.5; {1, 3}: stds (0, 1) → 0.5
    assert out.shape == (4, 2, 1, 2) and torch.equal(out[:, :1], x)
    assert torch.allclose(out[:, 1, 0, 0], torch.tensor([1.5, 0.5, 1.5, 0.5]), atol=1e-4)
    assert torch.equal(out[:, 1, 0, 0], out[:, 1, 0, 1])  # one constant map per row
    whole = MinibatchStd(group_size=4)(x[:3])  # 3 rows: not a multiple of 4, so one group
    std = x[:3].var(0, unbiased=False).sqrt().mean()
    assert torch.allclose(whole[:, 1], std.expand(3, 1, 2), atol=1e-4)


@pytest.mark.parametrize("size", [28, 32])
def test_discriminators_take_the_option_and_keep_old_layouts_without_it(size):
    torch.manual_seed(0)
    x = torch.rand(5, 1, size, size)
    d = DCGANDiscriminator(image_size=size, width=4, minibatch_discrimination=3)
    assert d(x).shape == (5,) and d.head[1].num_kernels == 3
    assert "head.weight" in DCGANDiscriminator(image_size=size, width=4).state_dict()  # K = 0: as before
    ae = AutoencoderDiscriminator(image_size=size, width=4, minibatch_discrimination=2)
    assert ae(x).shape == (5,) and ae.reconstruct(x).shape == x.shape


def test_config_default_is_off_and_old_configs_load():
    old = {k: v for k, v in GANConfig().to_dict().items() if k not in ("minibatch_discrimination", "progressive_steps")}
    assert GANConfig.from_dict(old).minibatch_discrimination == 0
    with pytest.raises(ValueError, match="minibatch_discrimination"):
        GANConfig(minibatch_discrimination=-1).resolved()


def test_every_family_trains_with_minibatch_discrimination():
    x = torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    for loss in ("non-saturating", "lsgan", "wgan-gp", "began"):
        run = train_gan(x, None, GANConfig(loss=loss, width=4, batch_size=8, latent_dim=8, minibatch_discrimination=2),
                        steps=1, progress=False)
        assert math.isfinite(run.history[-1]["d_loss"]), loss


def test_cli_flag_trains_and_is_refused_for_translation_archs(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["gan", "train", "--split", "test", "-n", "64", "--width", "4", "--latent-dim", "8", "--batch-size", "16",
            "--sample-every", "1000", "--quiet", "--steps", "2", "--minibatch-discrimination", "3", "--out", str(out)]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["config"]["minibatch_discrimination"] == 3
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ckpt["discriminator_kwargs"]["minibatch_discrimination"] == 3 and ckpt["step"] == 2
    assert load_checkpoint(out / "checkpoint.pt")["config"]["minibatch_discrimination"] == 3
    assert main(["gan", "train", "--arch", "pix2pix", "--minibatch-discrimination", "2", "--out", str(tmp_path / "p")]) == 2
    assert "--minibatch-discrimination" in capsys.readouterr().err
