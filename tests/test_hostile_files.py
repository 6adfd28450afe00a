"""Hostile files and mismatched inputs: each is refused with one sentence (CLI: exit code 2), never a
traceback, a silent fallback or a meaningless number.

5. a model that does not fit the data (classes, channels, image size) is refused before any attack;
8. a mistyped ``--data-dir`` is an error naming it, and the report names the files actually read;
9. damaged checkpoints, image folders, IDX files and unusable ``--out`` paths fail with a sentence;
and ``evaluate --mean`` without ``--arch`` (silently ignored before) is an error.
"""
from __future__ import annotations

import gzip
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np
import pytest
import torch
from PIL import Image

from robustgan.cli import main
from robustgan.data import embedded_sample, load_dataset, read_idx, take
from robustgan.models import Normalized, SmallCNN, load_model, save_classifier
from robustgan.models.checkpoint import FORMAT
from robustgan.validation import check_model_fits_data

# the cheapest evaluation there is: it must never get this far in the refused cases
CHEAP = ["-n", "20", "--num-minimal", "2", "--steps", "1", "--attacks", "fgsm", "--norms", "linf",
         "--eps-linf", "0.1", "--no-checks", "--quiet", "--device", "cpu"]
TRAIN = ["--epochs", "1", "--train-subset", "64", "--test-subset", "64", "--quiet", "--device", "cpu"]


def cli_error(capsys, argv: Sequence[str]) -> str:
    """Run the CLI, demand exit code 2 and a one-line message without a traceback; return it."""
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2, f"exit code {code}, stderr: {err}"
    assert "Traceback" not in err and "\n" not in err, err
    return err


def one_sentence(exc_info) -> str:
    message = str(exc_info.value)
    assert "\n" not in message.strip(), message
    return message


def small_checkpoint(path: Path, channels: int = 1, classes: int = 10) -> Path:
    torch.manual_seed(0)
    kwargs = {"in_channels": channels, "num_classes": classes, "width": 4}
    save_classifier(path, Normalized(SmallCNN(**kwargs), (0.5,) * channels, (0.5,) * channels), "small-cnn", kwargs)
    return path


def image_folder(root: Path, classes: int, per_class: int, size: int = 28, mode: str = "L") -> Path:
    """``root/<class>/<i>.png``: real images (of class c in folder c when there are 10), grey or RGB."""
    x, y = embedded_sample().tensors
    for c in range(classes):
        (root / str(c)).mkdir(parents=True)
        rows = (y == c).nonzero().squeeze(1)[:per_class]
        for i, r in enumerate(rows.tolist()):
            img = Image.fromarray((x[r, 0] * 255).round().byte().numpy(), "L").resize((size, size))
            img.convert(mode).save(root / str(c) / f"{i}.png")
    return root


def write_idx(path: Path, arr: np.ndarray) -> Path:
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())
    return path


def idx_folder(root: Path, n: int = 20) -> Path:
    """A --data-dir holding ``n`` embedded test images (n / 10 per class) as gzipped IDX files."""
    x, y = embedded_sample().tensors
    rows = torch.cat([(y == c).nonzero().squeeze(1)[: n // 10] for c in range(10)])
    root.mkdir(parents=True, exist_ok=True)
    write_idx(root / "t10k-images-idx3-ubyte.gz", (x[rows, 0] * 255).round().byte().numpy())
    write_idx(root / "t10k-labels-idx1-ubyte.gz", y[rows].numpy())
    return root


# --- 5. the model must fit the data ------------------------------------------------------------------

def test_a_5_class_model_on_fashion_mnist_is_refused_before_any_attack(tmp_path, capsys):
    ckpt = small_checkpoint(tmp_path / "five.pt", classes=5)
    msg = cli_error(capsys, ["evaluate", "--model", ckpt, "--out", tmp_path / "rep", *CHEAP])
    assert "5 outputs" in msg and "10 classes" in msg
    assert not (tmp_path / "rep" / "report.json").exists()


def test_a_3_channel_model_on_grey_images_is_refused(tmp_path, capsys):
    ckpt = small_checkpoint(tmp_path / "rgb.pt", channels=3)
    msg = cli_error(capsys, ["evaluate", "--model", ckpt, "--out", tmp_path / "rep", *CHEAP])
    assert "3-channel images" in msg and "1-channel" in msg


def test_a_10_class_model_on_a_2_class_folder_is_refused(tmp_path, capsys):
    folder = image_folder(tmp_path / "two", classes=2, per_class=3)
    msg = cli_error(capsys, ["evaluate", "--dataset", f"folder:{folder}", "--out", tmp_path / "rep", *CHEAP])
    assert "10 outputs" in msg and "only 2 classes" in msg


def test_a_model_built_for_28_pixels_is_refused_on_30_pixel_images(tmp_path, capsys):
    """The shipped CNN runs on 30×30 images (30 // 4 = 28 // 4): only its recorded size catches it."""
    folder = image_folder(tmp_path / "big", classes=10, per_class=1, size=30)
    msg = cli_error(capsys, ["evaluate", "--dataset", f"folder:{folder}", "--out", tmp_path / "rep", *CHEAP])
    assert "built for 28×28 images" in msg and "30×30" in msg


def test_check_model_fits_data_passes_a_fitting_model_and_names_each_mismatch(model, batch):
    x, _ = batch
    assert check_model_fits_data(model, x, 10, "Fashion-MNIST") == 10
    with pytest.raises(ValueError, match="only 7 classes") as exc:
        check_model_fits_data(model, x, 7, "Fashion-MNIST")
    one_sentence(exc)
    with pytest.raises(ValueError, match="the model has 10 outputs but Fashion-MNIST has 12 classes"):
        check_model_fits_data(model, x, 12, "Fashion-MNIST")
    with pytest.raises(ValueError, match="takes 1-channel images but .* has 3-channel ones"):
        check_model_fits_data(model, x.expand(-1, 3, -1, -1), 10, "the folder")


def test_craft_refuses_a_model_that_does_not_fit_the_data(tmp_path, capsys):
    ckpt = small_checkpoint(tmp_path / "five.pt", classes=5)
    msg = cli_error(capsys, ["craft", "det", "--out", tmp_path / "craft", "--model", ckpt, "-n", "4",
                             "--shard-size", "4", "--steps", "1", "--quiet", "--device", "cpu"])
    assert "5 outputs" in msg and "10 classes" in msg


def test_defense_gan_refuses_a_model_that_does_not_fit_the_data(tmp_path, capsys):
    from robustgan.gan import GANConfig, train_gan

    x, _ = embedded_sample().tensors
    train_gan(x[:32], None, GANConfig(width=8, latent_dim=8, batch_size=16), steps=1, out_dir=tmp_path / "gan",
              progress=False, sample_every=10_000, checkpoint_every=10_000)
    ckpt = small_checkpoint(tmp_path / "five.pt", classes=5)
    msg = cli_error(capsys, ["defense-gan", "--generator", tmp_path / "gan" / "checkpoint.pt", "--model", ckpt,
                             "-n", "2", "--steps", "1", "--restarts", "1", "--attack-steps", "1", "--eot", "1",
                             "--out", tmp_path / "dg", "--quiet", "--device", "cpu"])
    assert "5 outputs" in msg and "10 classes" in msg


def test_the_experiment_refuses_a_given_model_that_does_not_fit_the_data(tmp_path, capsys):
    ckpt = small_checkpoint(tmp_path / "five.pt", classes=5)
    msg = cli_error(capsys, ["experiment", "robust-features", "--out", tmp_path / "exp", "--scale", "tiny",
                             "--standard-model", ckpt, "--robust-model", ckpt, "--datasets", "det",
                             "--quiet", "--device", "cpu"])
    assert "5 outputs" in msg and "10 classes" in msg


# --- 8. --data-dir is read, or refused; the report names what was read ---------------------------------

def test_a_data_dir_that_does_not_exist_is_an_error_naming_it(tmp_path, capsys):
    typo = tmp_path / "fashion-mnsit"
    msg = cli_error(capsys, ["evaluate", "--data-dir", typo, "--out", tmp_path / "rep", *CHEAP])
    assert "data directory not found" in msg and str(typo) in msg


def test_a_data_dir_without_dataset_files_is_an_error_naming_it(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    msg = cli_error(capsys, ["evaluate", "--data-dir", empty, "--out", tmp_path / "rep", *CHEAP])
    assert "holds no Fashion-MNIST test files" in msg and str(empty) in msg


def test_the_report_names_the_idx_files_it_read(tmp_path, capsys):
    data = idx_folder(tmp_path / "fm")
    out = tmp_path / "rep"
    assert main(["evaluate", "--data-dir", str(data), "--out", str(out), *CHEAP]) == 0
    report = json.loads((out / "report.json").read_text())
    assert str(data / "t10k-images-idx3-ubyte.gz") in report["data"]["source"]
    assert str(data / "t10k-labels-idx1-ubyte.gz") in report["data"]["source"]
    assert report["data"]["examples"] == 20


def test_the_embedded_sample_is_named_as_the_source(tmp_path, monkeypatch):
    import robustgan.data.fmnist as fm

    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "nowhere")
    monkeypatch.delenv("ROBUSTGAN_DATA", raising=False)
    _, info = load_dataset("fashion-mnist", "test")
    assert info.source.startswith("embedded sample") and "fashion-mnist-test-sample.npz" in info.source


# --- 9. damaged files: a sentence, never a traceback ------------------------------------------------------

class _Payload:
    """Unpickling this runs code: it creates the file ``marker``."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').close()",)


def test_a_pickle_that_runs_code_is_refused_and_never_run(tmp_path, capsys):
    evil, marker = tmp_path / "evil.pt", tmp_path / "it-ran"
    torch.save({"format": FORMAT, "state_dict": _Payload(marker)}, evil)
    msg = cli_error(capsys, ["evaluate", "--model", evil, "--out", tmp_path / "rep", *CHEAP])
    assert f"cannot read checkpoint {evil}" in msg
    assert not marker.exists()


def test_an_empty_checkpoint_is_a_sentence(tmp_path, capsys):
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    msg = cli_error(capsys, ["evaluate", "--model", empty, "--out", tmp_path / "rep", *CHEAP])
    assert str(empty) in msg and "empty (0 bytes)" in msg


def test_a_checkpoint_with_the_format_tag_but_other_contents_is_a_sentence(tmp_path, capsys):
    odd = tmp_path / "odd.pt"
    torch.save({"format": FORMAT, "arch": "small-cnn", "arch_kwargs": {}, "state_dict": {"w": torch.zeros(1)}}, odd)
    msg = cli_error(capsys, ["evaluate", "--model", odd, "--out", tmp_path / "rep", *CHEAP])
    assert "format tag but not its contents" in msg and "state_dict['mean']" in msg


def test_a_zip_that_only_looks_like_torchscript_is_a_sentence(tmp_path, capsys):
    fake = tmp_path / "fake.pt"
    with zipfile.ZipFile(fake, "w") as z:
        z.writestr("fake/code/__torch__.py", "this is not TorchScript")
        z.writestr("fake/data.pkl", b"\x80\x02garbage")
    msg = cli_error(capsys, ["evaluate", "--model", fake, "--out", tmp_path / "rep", *CHEAP])
    assert f"cannot read {fake} as TorchScript" in msg
    with pytest.raises(ValueError, match="as TorchScript") as exc:
        load_model(fake)
    one_sentence(exc)


def test_a_grey_png_folder_is_read_grey_and_evaluated_with_the_grey_default_model(tmp_path):
    folder = image_folder(tmp_path / "grey", classes=10, per_class=2)
    out = tmp_path / "rep"
    assert main(["evaluate", "--dataset", f"folder:{folder}", "--out", str(out), *CHEAP]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["data"]["source"] == os.path.abspath(folder) and report["clean_accuracy"] >= 0.5


def test_an_image_folder_is_read_in_one_mode_for_all_its_images(tmp_path):
    grey = image_folder(tmp_path / "grey", classes=2, per_class=2)
    ds, info = load_dataset(f"folder:{grey}")
    assert info.channels == 1 and take(ds, None)[0].shape == (4, 1, 28, 28)
    Image.open(grey / "1" / "0.png").convert("RGB").save(grey / "1" / "9.png")  # one colour image
    ds, info = load_dataset(f"folder:{grey}")
    assert info.channels == 3 and take(ds, None)[0].shape == (5, 3, 28, 28)


def _truncated_jpeg(path: Path) -> None:
    buf = io.BytesIO()
    grey = (embedded_sample().tensors[0][0, 0] * 255).round().byte().numpy()
    Image.fromarray(grey, "L").resize((64, 64)).save(buf, "JPEG")
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])


@pytest.mark.parametrize("damage", ["truncated-jpeg", "not-an-image"])
def test_a_damaged_image_in_a_folder_is_named(tmp_path, capsys, damage):
    folder = image_folder(tmp_path / "imgs", classes=2, per_class=2)
    bad = folder / "1" / "bad.jpg"
    _truncated_jpeg(bad) if damage == "truncated-jpeg" else bad.write_bytes(b"no image in here")
    msg = cli_error(capsys, ["evaluate", "--dataset", f"folder:{folder}", "--out", tmp_path / "rep", *CHEAP])
    assert f"cannot read image {bad}" in msg


def test_train_refuses_a_folder_out_before_training_and_never_deletes_it(tmp_path, capsys):
    """A folder where OUT/model.pt belongs is refused, even with --force (which would delete it)."""
    folder = tmp_path / "models"
    (folder / "model.pt").mkdir(parents=True)
    (folder / "model.pt" / "keep.txt").write_text("mine")
    msg = cli_error(capsys, ["train", "--out", folder, "--force", *TRAIN])
    assert f"{folder / 'model.pt'} is a folder" in msg
    assert (folder / "model.pt" / "keep.txt").read_text() == "mine"


def test_train_refuses_an_out_below_a_file_before_training(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    msg = cli_error(capsys, ["train", "--out", blocker / "run", *TRAIN])
    assert "cannot be written" in msg and f"{blocker} is a file, not a folder" in msg


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_train_refuses_an_unwritable_out_before_training(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        msg = cli_error(capsys, ["train", "--out", locked / "run", *TRAIN])
    finally:
        locked.chmod(0o700)
    assert "is not writable" in msg


def test_defense_gan_refuses_a_file_out_before_any_work(tmp_path, capsys):
    blocker = tmp_path / "report"
    blocker.write_text("x")
    msg = cli_error(capsys, ["defense-gan", "--generator", tmp_path / "no-gan.pt", "--out", blocker,
                             "--device", "cpu"])
    assert f"--out {blocker} is a file, not a folder" in msg


def test_a_truncated_idx_gz_is_a_sentence_naming_the_file(tmp_path, capsys):
    data = idx_folder(tmp_path / "fm", n=200)
    images = data / "t10k-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[: images.stat().st_size // 2])
    with pytest.raises(ValueError, match="truncated or corrupt") as exc:
        read_idx(images)
    assert str(images) in one_sentence(exc)
    msg = cli_error(capsys, ["evaluate", "--data-dir", data, "--out", tmp_path / "rep", *CHEAP])
    assert str(images) in msg and "truncated or corrupt" in msg


def test_evaluate_mean_without_arch_is_an_error(tmp_path, capsys):
    msg = cli_error(capsys, ["evaluate", "--mean", "0.5", "--out", tmp_path / "rep", *CHEAP])
    assert "--mean/--std" in msg and "--arch" in msg
