"""The CLI of the image-to-image GANs: ``gan train --arch pix2pix|…``, ``gan translate``, and translation and
TorchScript generators in ``invert`` / ``attribute`` beside DCGAN checkpoints (tiny settings: seconds)."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

from robustgan.cli import main

QUIET = ["--quiet", "--device", "cpu"]
TINY_INVERSION = ["--restarts", "1", "--steps", "3", "--threads", "1", *QUIET]


def run(argv, capsys):
    """``main(argv)``'s exit code and its stderr."""
    threads = torch.get_num_threads()
    try:
        code = main([str(a) for a in argv])
    finally:
        torch.set_num_threads(threads)
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """A 2-step pix2pix (edges) run, a 2-step DCGAN and a scripted latent generator."""
    root = tmp_path_factory.mktemp("translation-cli")
    assert main(["gan", "train", "--arch", "pix2pix", "--width", "4", "--steps", "2", "-n", "64",
                 "--out", str(root / "p2p"), *QUIET]) == 0
    assert main(["gan", "train", "--split", "test", "-n", "64", "--width", "4", "--latent-dim", "8", "--batch-size",
                 "16", "--steps", "2", "--out", str(root / "dcgan"), *QUIET]) == 0
    with torch.random.fork_rng(), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit's advice to move to torch.export
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(8, 784), nn.Sigmoid(), nn.Unflatten(1, (1, 28, 28)))
        torch.jit.save(torch.jit.script(net), str(root / "latent.pt"))
    return {"pix2pix": root / "p2p" / "checkpoint.pt", "dcgan": root / "dcgan" / "checkpoint.pt",
            "scripted": root / "latent.pt", "root": root}


@pytest.mark.parametrize("command, flags", [
    (["gan", "train"], ["--arch", "--task", "--baseline", "--lambda-l1", "--lambda-cycle", "--content", "--width"]),
    (["gan", "translate"], ["--generator", "--images", "--domain", "--direction", "--out", "-n"]),
    (["invert"], ["--generator", "--scripted", "--latent-dim", "--source-shape", "--source-lr", "--domain"]),
    (["attribute"], ["--generator", "--scripted", "--latent-dim", "--source-shape", "--direction"]),
])
def test_help_names_the_new_flags(command, flags, capsys):
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    out = capsys.readouterr().out
    assert done.value.code == 0 and all(f in out for f in flags)
    for arch in ("pix2pix", "cyclegan", "srgan", "stargan"):
        assert command != ["gan", "train"] or arch in out


@pytest.mark.parametrize("argv, message", [
    (["--arch", "pix2pix", "--task", "superres"], "--arch pix2pix trains on --task edges, not superres"),
    (["--arch", "cyclegan", "--task", "edges"], "--arch cyclegan trains on --task unpaired"),
    (["--arch", "pix2pix", "--loss", "wgan-gp"], "--loss: DCGAN's settings, not --arch pix2pix's"),
    (["--arch", "srgan", "--latent-dim", "8", "--conditional"], "--conditional, --latent-dim: DCGAN's settings"),
    (["--arch", "dcgan", "--baseline"], "--baseline: for the image-to-image archs"),
    (["--task", "edges"], "--task: for the image-to-image archs"),
    (["--arch", "stargan", "--baseline"], "--baseline is for --arch pix2pix or srgan, not stargan"),
    (["--arch", "pix2pix", "--lambda-cycle", "3"], "--lambda-cycle is for --arch cyclegan, not pix2pix"),
    (["--arch", "pix2pix", "--content", "mse"], "--content is for --arch srgan, not pix2pix"),
    (["--arch", "srgan", "--dataset", "cifar10"], "built from Fashion-MNIST"),
])
def test_gan_train_refuses_a_flag_of_the_other_family_or_a_task_of_another_arch(argv, message, tmp_path, capsys):
    code, err = run(["gan", "train", *argv, "--steps", "1", "--out", tmp_path / "run", *QUIET], capsys)
    assert code == 2 and message in err, err
    assert not (tmp_path / "run").exists()


def test_usage_errors_exit_2(tmp_path, capsys):
    for argv in (["gan", "train", "--arch", "vae"], ["invert", "--scripted", "g.pt", "--source-shape", "1,28"],
                 ["attribute", "--scripted", "g.pt", "--latent-dim", "0"]):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'vae'" in err and "expected C,H,W" in err and "must be >= 1" in err


@pytest.mark.parametrize("argv, message", [
    (["invert", "-n", "2"], "give at least one --generator CHECKPOINT or --scripted FILE"),
    (["invert", "--scripted", "{root}/latent.pt"], "1 --scripted files but 0 --latent-dim/--source-shape"),
    (["invert", "--scripted", "{root}/missing.pt", "--latent-dim", "8"], "generator file not found"),
    (["invert", "--scripted", "{root}/latent.pt", "--source-shape", "1,28,28"], "does not take inputs of shape"),
    (["attribute", "--generator", "{root}/missing.pt"], "checkpoint not found"),
    (["attribute", "--generator", "{root}/dcgan/checkpoint.pt", "--domain", "1"], "--domain is for StarGAN"),
    (["gan", "translate", "--generator", "{root}/missing.pt"], "checkpoint not found"),
    (["gan", "translate", "--generator", "{root}/dcgan/checkpoint.pt"], "not a robustgan translation checkpoint"),
    (["gan", "translate", "--generator", "{root}/p2p/checkpoint.pt", "--domain", "1"], "--domain is for StarGAN"),
    (["gan", "translate", "--generator", "{root}/p2p/checkpoint.pt", "--direction", "ba"], "--direction is for"),
])
def test_errors_name_the_problem_in_one_line(argv, message, checkpoints, tmp_path, capsys):
    argv = [a.format(root=checkpoints["root"]) for a in argv]
    quiet = QUIET if argv[0] != "gan" else ["--device", "cpu"]
    code, err = run([*argv, "--out", tmp_path / "out", *quiet], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_pix2pix_trains_resumes_and_translates(checkpoints, tmp_path, capsys):
    run_dir = checkpoints["pix2pix"].parent
    assert sorted(p.name for p in run_dir.iterdir()) == ["checkpoint.pt", "history.json", "samples"]
    assert any((run_dir / "samples").glob("step_*.png"))
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    (resumed / "checkpoint.pt").write_bytes(checkpoints["pix2pix"].read_bytes())
    # --resume takes the width, task and -n the checkpoint records; --width typed again must agree
    assert run(["gan", "train", "--arch", "pix2pix", "--resume", "--more-steps", "1", "--out", resumed, *QUIET],
               capsys)[0] == 0
    assert [h["step"] for h in json.loads((resumed / "history.json").read_text())] == [1, 2, 3]
    code, err = run(["gan", "train", "--arch", "pix2pix", "--resume", "--width", "8", "--out", resumed, *QUIET], capsys)
    assert code == 2 and "width (4 → 8)" in err

    out = tmp_path / "translated"
    assert run(["gan", "translate", "--generator", checkpoints["pix2pix"], "-n", "6", "--out", out, "--device", "cpu"],
               capsys)[0] == 0
    saved = torch.load(out / "translations.pt", weights_only=True)
    assert saved["sources"].shape == saved["translations"].shape == (6, 1, 28, 28)
    assert set(saved["sources"].unique().tolist()) <= {0.0, 1.0}  # edge maps
    assert (out / "translations.png").stat().st_size > 500
    torch.save({"images": saved["sources"][:2]}, tmp_path / "edges.pt")
    assert run(["gan", "translate", "--generator", checkpoints["pix2pix"], "--images", tmp_path / "edges.pt", "--out",
                tmp_path / "file", "--device", "cpu"], capsys)[0] == 0
    again = torch.load(tmp_path / "file" / "translations.pt", weights_only=True)["translations"]
    assert torch.allclose(again, saved["translations"][:2], atol=1e-6)


def test_translator_sources_are_the_tasks_sources_of_held_out_images(checkpoints):
    from robustgan.data import load_dataset
    from robustgan.gan.translation import load_translation_checkpoint, load_translator
    from robustgan.gan.translation.operators import edge_map
    from robustgan.gan.translation_sources import translator_sources

    path = checkpoints["pix2pix"]
    sources = translator_sources(load_translation_checkpoint(path), load_translator(path), 5, skip=10)
    images = load_dataset("fashion-mnist", "test")[0].tensors[0][10:15].float()
    assert torch.equal(sources, edge_map(images))


def test_attribute_and_invert_compare_translation_dcgan_and_scripted_generators(checkpoints, tmp_path, capsys):
    generators = ["--generator", checkpoints["pix2pix"], "--generator", checkpoints["dcgan"],
                  "--scripted", checkpoints["scripted"], "--latent-dim", "8"]
    out = tmp_path / "att"
    assert run(["attribute", *generators, "--num-generated", "3", "--num-real", "4", "--num-calibration", "4",
                "--out", out, *TINY_INVERSION], capsys)[0] == 0
    report = json.loads((out / "report.json").read_text())
    assert report["generators"] == ["G0", "G1", "G2"] and report["generated_images"] == 9
    assert "--scripted" in report["command"] and "--latent-dim 8" in report["command"]
    assert (out / "reconstructions.png").stat().st_size > 1000

    inv = tmp_path / "inv"
    argv = ["invert", *generators, "-n", "4", "--chunk", "2", "--out", inv, *TINY_INVERSION]
    assert run(argv, capsys)[0] == 0
    summary = json.loads((inv / "inversion.json").read_text())
    assert summary["kinds"] == ["source", "latent", "latent"]
    first = torch.load(inv / "inversion.pt", weights_only=True)
    assert [tuple(v.shape) for v in first["variables"]] == [(4, 1, 28, 28), (4, 8), (4, 8)]
    (inv / "state" / "invert" / "unit-00001.pt").unlink()
    assert run([*argv, "--resume"], capsys)[0] == 0  # unit 0 loaded, unit 1 inverted again: the same numbers
    assert torch.equal(torch.load(inv / "inversion.pt", weights_only=True)["residuals"], first["residuals"])
