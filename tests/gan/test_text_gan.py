"""Text-to-image GAN-CLS: captions measured on pixels, the vocabulary, the loss terms, GAN-INT, resume, CLI."""
from __future__ import annotations

import math

import pytest
import torch

from robustgan.gan import GANConfig
from robustgan.gan.text import (TextSettings, UnknownWordError, caption_images, caption_interpolation, compose,
                                decode, embed_captions, encode, generator_loss, interpolate_embeddings,
                                load_text_sampler, matching_aware_d_loss, measure, naive_d_loss, pretrain_encoder,
                                sample_captions, tokenize, train_text_gan)
from robustgan.gan.text.captions import all_captions
from robustgan.gan.text.encoder import encoder_accuracy
from robustgan.gan.text.losses import mismatched
from robustgan.gan.text.vocab import WORDS

TINY = GANConfig(latent_dim=8, width=4, batch_size=16, seed=3)
FAST = TextSettings(encoder_steps=30, text_dim=8, embed_dim=8, proj_dim=8)


def block(value: float, top: int, bottom: int, left: int, right: int) -> torch.Tensor:
    x = torch.zeros(1, 1, 28, 28)
    x[..., top:bottom, left:right] = value
    return x


def sp(v: float) -> float:
    return math.log1p(math.exp(v))


# --- captions ------------------------------------------------------------------------------------

def test_a_bright_wide_flat_block_is_captioned_bright_wide_smooth():
    assert caption_images(block(0.9, 4, 24, 1, 27), torch.tensor([0])) == ["a bright, wide, smooth t-shirt"]


def test_a_dim_narrow_block_is_dark_and_narrow_and_an_ankle_boot_takes_an():
    x = block(0.3, 2, 26, 10, 18)  # 8 of 28 columns
    m = measure(x)
    assert m.width.item() == pytest.approx(8 / 28) and m.brightness.item() == pytest.approx(0.3)
    assert caption_images(x, torch.tensor([9])) == ["a dark, narrow, smooth ankle boot"]
    assert compose(9, (1, 1, 1)) == "an ankle boot"


def test_a_checkerboard_is_textured_and_medium_buckets_have_no_word():
    board = ((torch.arange(28)[:, None] + torch.arange(28)[None]) % 2).float().view(1, 1, 28, 28)
    x = 0.2 + 0.45 * board  # every pixel foreground, mean 0.425 → dark; full width → wide
    x[..., :, :2] = 0
    x[..., :, 26:] = 0  # 24 columns: medium width
    assert measure(x).texture.item() > 0.25
    assert caption_images(x, torch.tensor([3])) == ["a dark, textured dress"]
    mid = block(0.65, 4, 24, 4, 24)  # medium brightness, 20/28 columns, flat
    assert caption_images(mid, torch.tensor([4])) == ["a smooth coat"]


def test_captions_are_deterministic_and_reject_bad_inputs():
    x = torch.rand(6, 1, 28, 28)
    y = torch.arange(6)
    assert caption_images(x, y) == caption_images(x.clone(), y.clone())
    with pytest.raises(ValueError, match="labels"):
        caption_images(x, y[:3])
    with pytest.raises(ValueError, match="grey"):
        measure(torch.rand(2, 3, 28, 28))
    with pytest.raises(ValueError, match="label"):
        compose(10, (1, 1, 1))


# --- vocabulary ----------------------------------------------------------------------------------

def test_tokenizer_round_trip_and_every_grammar_caption_fits():
    ids = tokenize("A dark,  narrow ankle boot.")
    assert decode(ids) == "a dark narrow ankle boot" and len(ids) == 8 and ids[5:] == [0, 0, 0]
    captions = [c for c, _, _ in all_captions()]
    assert len(set(captions)) == 270
    assert [decode(row) for row in encode(captions).tolist()] == [c.replace(",", "") for c in captions]


def test_an_unknown_word_names_itself_and_the_known_words():
    with pytest.raises(UnknownWordError) as info:
        tokenize("a purple, fluffy boot")
    msg = str(info.value)
    assert "'purple'" in msg and "'fluffy'" in msg and "known words:" in msg
    assert all(w in msg for w in WORDS[1:])
    with pytest.raises(ValueError, match="at most"):
        tokenize("a dark bright narrow wide smooth textured ankle boot")
    with pytest.raises(ValueError, match="at least one word"):
        tokenize(" , ")


def test_the_pretrained_encoder_reads_every_caption_and_is_seeded():
    enc = pretrain_encoder(seed=1)
    assert encoder_accuracy(enc) == 1.0
    assert not any(p.requires_grad for p in enc.parameters())
    again = pretrain_encoder(steps=30, seed=1)
    assert torch.equal(pretrain_encoder(steps=30, seed=1).out.weight, again.out.weight)


# --- loss terms and GAN-INT ------------------------------------------------------------------------

def test_matching_aware_d_loss_on_hand_computed_logits():
    real, wrong, fake = torch.tensor([2.0, 0.0]), torch.tensor([-1.0, 0.0]), torch.tensor([3.0, 0.0])
    want = (sp(-2) + sp(0)) / 2 + 0.5 * ((sp(-1) + sp(0)) / 2 + (sp(3) + sp(0)) / 2)
    assert matching_aware_d_loss(real, wrong, fake).item() == pytest.approx(want, rel=1e-6)
    zeros = torch.zeros(3)
    assert matching_aware_d_loss(zeros, zeros, zeros).item() == pytest.approx(2 * math.log(2))
    assert naive_d_loss(real, fake).item() == pytest.approx((sp(-2) + sp(0)) / 2 + (sp(3) + sp(0)) / 2, rel=1e-6)
    smoothed = matching_aware_d_loss(torch.tensor([1.0]), torch.tensor([0.0]), torch.tensor([0.0]), real_label=0.9)
    assert smoothed.item() == pytest.approx(0.9 * sp(-1) + 0.1 * sp(1) + 0.5 * (2 * sp(0)), rel=1e-6)
    assert generator_loss(torch.tensor([1.0]), torch.tensor([-2.0])).item() == pytest.approx(sp(-1) + sp(2), rel=1e-6)


def test_gan_int_interpolates_pairs_of_the_batch():
    a = torch.arange(12.0).view(3, 4)
    b = mismatched(a)
    assert torch.equal(b, a[[2, 0, 1]])
    assert torch.allclose(interpolate_embeddings(a, b, 0.5), (a + b) / 2)
    assert torch.equal(interpolate_embeddings(a, b, 1.0), a)
    assert torch.allclose(interpolate_embeddings(a, b, 0.25), 0.25 * a + 0.75 * b)
    with pytest.raises(ValueError, match="beta"):
        interpolate_embeddings(a, b, 1.5)
    with pytest.raises(ValueError, match="shape"):
        interpolate_embeddings(a, b[:2])


# --- training, resume, sampling -----------------------------------------------------------------

@pytest.fixture(scope="module")
def data():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(64, 1, 28, 28, generator=gen) * (torch.rand(64, 1, 1, 1, generator=gen) > 0.3)
    return x, torch.arange(64) % 10


def _weights(run):
    return {**{f"G.{k}": v for k, v in run.generator.state_dict().items()},
            **{f"D.{k}": v for k, v in run.discriminator.state_dict().items()}}


def test_resume_is_bit_exact_on_cpu(tmp_path, data):
    x, y = data
    straight = train_text_gan(x, y, TINY, FAST, steps=6, out_dir=tmp_path / "a", progress=False, log_every=1)
    train_text_gan(x, y, TINY, FAST, steps=3, out_dir=tmp_path / "b", progress=False, log_every=1)
    resumed = train_text_gan(x, y, TINY, FAST, steps=6, out_dir=tmp_path / "b", resume=True, progress=False,
                             log_every=1)
    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert [h["g_loss"] for h in straight.history] == [h["g_loss"] for h in resumed.history]
    assert "d_mismatched" in straight.history[-1]
    with pytest.raises(ValueError, match="text_mode"):  # another mode is another run
        train_text_gan(x, y, TINY, TextSettings(**{**vars(FAST), "mode": "naive"}), steps=8,
                       out_dir=tmp_path / "b", resume=True, progress=False)


def test_modes_differ_only_where_they_should(data):
    x, y = data
    naive = train_text_gan(x, y, TINY, TextSettings(**{**vars(FAST), "mode": "naive"}), steps=2, progress=False,
                           log_every=1)
    cls = train_text_gan(x, y, TINY, TextSettings(**{**vars(FAST), "mode": "cls"}), steps=2, progress=False,
                         log_every=1)
    assert "d_mismatched" not in naive.history[0] and "d_mismatched" in cls.history[0]
    assert naive.history[0]["d_loss"] != cls.history[0]["d_loss"]
    with pytest.raises(ValueError, match="mode"):
        TextSettings(mode="fancy").validate()
    with pytest.raises(ValueError, match="non-saturating"):
        train_text_gan(x, y, GANConfig(loss="wgan-gp", latent_dim=8, width=4, batch_size=16), FAST, steps=1)


def test_caption_interpolation_walks_from_a_to_b(tmp_path, data):
    x, y = data
    run = train_text_gan(x, y, TINY, FAST, steps=1, out_dir=tmp_path / "r", progress=False)
    g, enc, settings = load_text_sampler(tmp_path / "r" / "checkpoint.pt")
    assert settings.mode == "cls-int" and torch.equal(g.body.main[0].weight, run.generator.body.main[0].weight)
    grid = caption_interpolation(g, enc, "a dark trouser", "a bright, wide bag", points=5, rows=3, seed=4)
    assert grid.shape == (15, 1, 28, 28) and 0 <= grid.min() and grid.max() <= 1
    ends = sample_captions(g, enc, ["a dark trouser", "a bright, wide bag"], per_caption=3, seed=4)
    assert torch.allclose(grid[0::5], ends[:3], atol=1e-6) and torch.allclose(grid[4::5], ends[3:], atol=1e-6)
    h = embed_captions(enc, ["a dark trouser", "a bright, wide bag"])
    z = g.sample_latent(3, torch.Generator().manual_seed(4), device=torch.device("cpu"))
    with torch.no_grad():
        middle = g(z, (0.5 * h[0] + 0.5 * h[1]).expand(3, -1))
    assert torch.allclose(grid[2::5], middle, atol=1e-6) and not torch.equal(h[0], h[1])


def test_cli_trains_gan_cls_and_samples_from_a_caption(tmp_path, capsys):
    from robustgan.cli import main

    out = tmp_path / "run"
    assert main(["gan", "train", "--arch", "gan-cls", "--text-mode", "naive", "-n", "64", "--steps", "2",
                 "--width", "4", "--latent-dim", "8", "--batch-size", "16", "--out", str(out), "--quiet",
                 "--device", "cpu"]) == 0
    ckpt = out / "checkpoint.pt"
    assert ckpt.exists() and (out / "samples" / "step_000002.png").exists()
    assert main(["gan", "train", "--arch", "gan-cls", "--out", str(out), "--resume", "--more-steps", "1", "--quiet",
                 "--device", "cpu"]) == 0  # the recorded settings, untyped
    assert torch.load(ckpt, weights_only=True)["step"] == 3
    grid = tmp_path / "grid"
    assert main(["gan", "sample", "--text", "a dark, narrow ankle boot", "--text", "a coat", "--generator", str(ckpt),
                 "--out", str(grid), "--nrow", "4", "--device", "cpu"]) == 0
    from PIL import Image

    assert Image.open(grid / "samples.png").size[1] > Image.open(grid / "samples.png").size[0] / 4  # two rows
    assert main(["gan", "sample", "--text", "a dark coat", "--text", "a bag", "--interpolate", "2",
                 "--generator", str(ckpt), "--out", str(tmp_path / "walk"), "--device", "cpu"]) == 0
    capsys.readouterr()
    assert main(["gan", "sample", "--text", "a purple boot", "--generator", str(ckpt), "--out", str(grid),
                 "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "'purple'" in err and "known words: a, an, dark" in err
    assert main(["gan", "sample", "--generator", str(ckpt), "--out", str(grid), "--device", "cpu"]) == 2
    assert "give a caption with --text" in capsys.readouterr().err
    assert main(["gan", "train", "--text-mode", "cls", "--out", str(tmp_path / "x"), "--steps", "1"]) == 2
    assert "--text-mode is for --arch gan-cls" in capsys.readouterr().err
    assert main(["gan", "train", "--arch", "gan-cls", "--loss", "wgan", "--out", str(tmp_path / "y"),
                 "--steps", "1"]) == 2
    assert "--loss: not a setting of --arch gan-cls" in capsys.readouterr().err
