"""GAN training: it learns (FID-local), every loss runs, resume is bit-exact (even after a kill), the CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import torch

from robustgan.cli import main
from robustgan.data import load_dataset
from robustgan.gan import GANConfig, build_models, load_checkpoint, load_generator, loss_names, train_gan
from robustgan.gan.metrics import FeatureExtractor, class_counts, frechet_distance, generate

TINY = dict(width=4, batch_size=16, latent_dim=16)


def training_images(n: int):
    """Fashion-MNIST training images; the shipped 1,000 test images where the full set is absent."""
    try:
        ds, _ = load_dataset("fashion-mnist", "train")
    except FileNotFoundError:
        ds, _ = load_dataset("fashion-mnist", "test")
    x, y = ds.tensors
    return x[:n], y[:n]


@pytest.fixture(scope="session")
def small_data():
    return training_images(512)


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """A small DCGAN trained briefly with the non-saturating loss (cached for the session)."""
    x, y = training_images(20000)
    out = tmp_path_factory.mktemp("dcgan")
    cfg = GANConfig(loss="non-saturating", width=16, batch_size=32, latent_dim=64, seed=0)
    run = train_gan(x, y, cfg, steps=600, out_dir=out, progress=False, sample_every=300, checkpoint_every=300)
    return run, out


def test_brief_training_gives_fid_local_far_below_an_untrained_generator(trained, fmnist):
    run, out = trained
    real, _ = fmnist
    extractor = FeatureExtractor.default()
    real_features = extractor(real)
    untrained, _ = build_models(run.config, 28, 1)
    fid_untrained = frechet_distance(real_features, extractor(generate(untrained, 1000, seed=1)))
    samples = generate(load_generator(out / "checkpoint.pt"), 1000, seed=1)
    fid_trained = frechet_distance(real_features, extractor(samples))
    assert fid_trained < 0.5 * fid_untrained, (fid_trained, fid_untrained)
    # not one mode only: several classes appear among the samples
    assert class_counts(extractor.model, samples)["classes_present"] >= 5
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step_000300.png", "step_000600.png"]


def test_checkpoint_is_plain_data_and_load_generator_matches_the_run(trained):
    run, out = trained
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] == 600 and len(ckpt["history"]) == 600
    for key in ("generator", "discriminator", "opt_g", "opt_d", "noise_rng", "data_cursor", "loss_state", "config"):
        assert key in ckpt
    g = load_generator(out / "checkpoint.pt")
    assert g.latent_dim == 64 and g.num_classes == 0
    z = g.sample_latent(4, torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(g(z), run.sampler.eval()(z))


@pytest.mark.parametrize("loss", loss_names())
def test_every_loss_trains_and_produces_images(loss, small_data):
    x, y = small_data
    run = train_gan(x, y, GANConfig(loss=loss, **TINY), steps=2, progress=False)
    assert len(run.history) == 2
    assert all(torch.isfinite(torch.tensor([h["d_loss"], h["g_loss"]])).all() for h in run.history)
    if run.config.spec.penalty:
        assert run.history[-1]["penalty"] >= 0
    if loss == "began":
        assert 0 <= run.history[-1]["k"] <= 1
    g = run.sampler
    labels = torch.arange(3) if g.num_classes else None
    with torch.no_grad():
        images = g(g.sample_latent(3), labels)
    assert images.shape == (3, 1, 28, 28) and 0 <= images.min() and images.max() <= 1
    if loss == "wgan":
        assert all(p.abs().max() <= 0.01 for p in run.discriminator.parameters())


def test_any_dcgan_loss_can_be_conditional(small_data):
    x, y = small_data
    run = train_gan(x, y, GANConfig(loss="hinge", conditional=True, **TINY), steps=2, progress=False)
    assert run.generator.num_classes == 10 and run.discriminator.num_classes == 10


def _same_state(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(u, v) for u, v in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.mark.parametrize("cfg", [
    GANConfig(loss="began", ema=0.9, instance_noise=0.1, instance_noise_anneal=4, **TINY),
    GANConfig(loss="wgan-gp", spectral_norm=True, d_steps=2, **TINY),
    GANConfig(loss="acgan", label_smoothing=0.1, ema=0.5, **TINY),
    GANConfig(loss="infogan", **TINY),
    GANConfig(loss="wgan", **TINY),
], ids=["began-ema-noise", "wgan-gp-sn-k2", "acgan-smooth-ema", "infogan", "wgan-rmsprop"])
def test_stopped_and_resumed_run_is_bit_identical_to_a_straight_one(cfg, small_data, tmp_path):
    x, y = small_data
    straight = train_gan(x, y, cfg, steps=6, progress=False)
    train_gan(x, y, cfg, steps=3, out_dir=tmp_path, progress=False, checkpoint_every=2)
    resumed = train_gan(x, y, cfg, steps=6, out_dir=tmp_path, resume=True, progress=False)
    assert resumed.history == straight.history
    assert _same_state(resumed.generator, straight.generator)
    assert _same_state(resumed.discriminator, straight.discriminator)
    if cfg.ema:
        assert _same_state(resumed.generator_ema, straight.generator_ema)


def test_same_seed_same_bits_and_the_global_rng_is_left_alone(small_data):
    x, y = small_data
    state = torch.get_rng_state()
    a = train_gan(x, y, GANConfig(**TINY), steps=3, progress=False)
    assert torch.equal(state, torch.get_rng_state())
    b = train_gan(x, y, GANConfig(**TINY), steps=3, progress=False)
    c = train_gan(x, y, GANConfig(seed=1, **TINY), steps=3, progress=False)
    assert a.history == b.history and _same_state(a.generator, b.generator)
    assert a.history != c.history


def test_bad_training_input_fails_early(small_data, tmp_path):
    x, y = small_data
    with pytest.raises(ValueError, match="NaN"):
        train_gan(torch.full((4, 1, 28, 28), float("nan")), None, GANConfig(**TINY), steps=1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        train_gan(x * 255, y, GANConfig(**TINY), steps=1)
    with pytest.raises(ValueError, match="supports"):
        train_gan(torch.rand(20, 1, 16, 16), None, GANConfig(**TINY), steps=1)
    with pytest.raises(ValueError, match="batch_size"):
        train_gan(x[:8], y[:8], GANConfig(**TINY), steps=1)
    with pytest.raises(ValueError, match="labels"):
        train_gan(x, None, GANConfig(loss="cgan", **TINY), steps=1)
    with pytest.raises(FileNotFoundError):
        train_gan(x, y, GANConfig(**TINY), steps=1, out_dir=tmp_path, resume=True)
    train_gan(x, y, GANConfig(**TINY), steps=1, out_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="settings differ.*loss"):
        train_gan(x, y, GANConfig(loss="lsgan", **TINY), steps=2, out_dir=tmp_path, resume=True)


CLI_COMMON = ["--split", "test", "-n", "256", "--width", "4", "--latent-dim", "16", "--batch-size", "16",
              "--checkpoint-every", "4", "--sample-every", "1000", "--ema", "0.9", "--seed", "3", "--quiet"]


def test_a_killed_training_run_resumes_and_matches_an_uninterrupted_one(tmp_path):
    ref, killed = tmp_path / "ref", tmp_path / "killed"
    assert main(["gan", "train", *CLI_COMMON, "--steps", "24", "--out", str(ref)]) == 0
    proc = subprocess.Popen([sys.executable, "-m", "robustgan.cli", "gan", "train", *CLI_COMMON,
                             "--steps", "1000000", "--out", str(killed)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ))
    step, deadline = 0, time.monotonic() + 150
    try:
        while step < 8 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
            try:
                step = int(load_checkpoint(killed / "checkpoint.pt")["step"])
            except (FileNotFoundError, ValueError):
                pass
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -9, "the training process should have been killed mid-run"
    step = int(load_checkpoint(killed / "checkpoint.pt")["step"])
    assert 8 <= step < 24
    assert main(["gan", "train", *CLI_COMMON, "--steps", "24", "--out", str(killed), "--resume"]) == 0
    assert json.loads((killed / "history.json").read_text()) == json.loads((ref / "history.json").read_text())
    a, b = load_checkpoint(ref / "checkpoint.pt"), load_checkpoint(killed / "checkpoint.pt")
    for key in ("generator", "discriminator", "generator_ema"):
        assert all(torch.equal(a[key][k], b[key][k]) for k in a[key]), key
    # --more-steps adds to the steps already done
    assert main(["gan", "train", *CLI_COMMON, "--more-steps", "4", "--out", str(killed), "--resume"]) == 0
    assert load_checkpoint(killed / "checkpoint.pt")["step"] == 28


def test_cli_train_sample_metrics(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["gan", "train", *CLI_COMMON, "--loss", "cgan", "--steps", "4", "--out", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["step"] == 4
    assert (out / "samples" / "step_000004.png").stat().st_size > 500
    ckpt = str(out / "checkpoint.pt")
    assert main(["gan", "sample", "--generator", ckpt, "--out", str(tmp_path / "s"), "-n", "16",
                 "--label", "3", "--truncation", "0.8"]) == 0
    assert f"wrote {tmp_path / 's' / 'samples.png'} (16 images)" in capsys.readouterr().out
    with pytest.warns(DeprecationWarning, match="--out is a folder now"):  # the old file --out, for one release
        assert main(["gan", "sample", "--generator", ckpt, "--out", str(tmp_path / "i.png"), "--interpolate", "2"]) == 0
    assert (tmp_path / "s" / "samples.png").stat().st_size > 200 and (tmp_path / "i.png").stat().st_size > 200
    capsys.readouterr()
    assert main(["gan", "metrics", "--generator", ckpt, "-n", "200", "--kid-subsets", "3", "--kid-subset-size", "100",
                 "--baseline", "--out", str(tmp_path / "m")]) == 0
    report = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert json.loads(capsys.readouterr().out) == report
    assert report["fid_local"] > 0 and "Inception" in report["note"] and sum(report["classes"]["counts"]) == 200
    assert report["untrained"]["fid_local"] > 0
    page = (tmp_path / "m" / "metrics.html").read_text()  # the same numbers as a page
    assert f"{report['fid_local']:.4g}" in page and report["warnings"] == []  # 200 samples, subsets of 100: enough
    # errors are reported without a traceback
    capsys.readouterr()
    assert main(["gan", "train", "--loss", "nope", "--out", str(tmp_path / "x")]) == 2
    assert "unknown GAN loss" in capsys.readouterr().err
    assert main(["gan", "train", "--more-steps", "3", "--out", str(tmp_path / "x")]) == 2
    assert main(["gan", "sample", "--generator", str(tmp_path / "none.pt")]) == 2
    assert main(["gan"]) == 2
    err = capsys.readouterr().err
    assert "checkpoint not found" in err and "sub-command" in err and "Traceback" not in err


def test_conditional_generator_draws_the_requested_class(model):
    """A briefly trained cGAN's samples are classified (by the shipped CNN) as the class asked for."""
    x, y = training_images(20000)
    run = train_gan(x, y, GANConfig(loss="cgan", width=16, batch_size=32, latent_dim=64), steps=400, progress=False)
    labels = torch.arange(500) % 10
    samples = generate(run.generator, 500, seed=1, labels=labels)
    with torch.no_grad():
        agreement = float((model(samples).argmax(1) == labels).float().mean())
    assert agreement > 0.4, agreement  # chance is 0.1


def test_every_loss_trains_on_32x32_colour_images():
    x, y = torch.rand(48, 3, 32, 32, generator=torch.Generator().manual_seed(0)), torch.arange(48) % 10
    for loss in loss_names():
        g = train_gan(x, y, GANConfig(loss=loss, **TINY), steps=1, progress=False).sampler
        with torch.no_grad():
            images = g(g.sample_latent(2), torch.arange(2) if g.num_classes else None)
        assert images.shape == (2, 3, 32, 32), loss


def test_ctrl_c_saves_at_a_step_boundary_and_the_resumed_run_is_bit_identical(small_data, tmp_path, monkeypatch):
    """The first Ctrl-C lets the current step finish, saves the checkpoint and stops with a
    sentence (exit code 130 from the CLI); resuming gives the uninterrupted run's bits."""
    import signal
    import threading

    from robustgan.gan import trainer
    from robustgan.interrupt import RunInterrupted

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals are delivered to the main thread only")
    x, y = small_data
    cfg = GANConfig(loss="non-saturating", **TINY)
    straight = train_gan(x, y, cfg, steps=8, progress=False)
    real, calls = trainer.instance_noise_std, []

    def interrupting(*args, **kwargs):  # called once at the start of every step
        calls.append(1)
        if len(calls) == 4:
            signal.raise_signal(signal.SIGINT)  # in the middle of step 4
        return real(*args, **kwargs)

    monkeypatch.setattr(trainer, "instance_noise_std", interrupting)
    with pytest.raises(RunInterrupted, match="after step 4 of 8.*--resume"):
        train_gan(x, y, cfg, steps=8, out_dir=tmp_path, progress=False, checkpoint_every=100)
    monkeypatch.setattr(trainer, "instance_noise_std", real)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is restored
    assert load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 4
    resumed = train_gan(x, y, cfg, steps=8, out_dir=tmp_path, resume=True, progress=False)
    assert resumed.history == straight.history
    assert _same_state(resumed.generator, straight.generator)
    assert _same_state(resumed.discriminator, straight.discriminator)
