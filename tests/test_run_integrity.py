"""Run integrity: no stale reuse, no silent overwrite, checked shards, one writer, checked resumes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import torch

from robustgan.cli import main
from robustgan.features import CraftedDataset
from robustgan.models import checkpoint_meta
from robustgan.models.default import default_checkpoint_path

EXPERIMENT = ["experiment", "robust-features", "--scale", "tiny", "--quiet", "--train-images", "64",
              "--craft-count", "8", "--shard-size", "8", "--invert-steps", "2", "--fresh-epochs", "1",
              "--eval-images", "20", "--eval-steps", "2", "--datasets", "robust"]
GAN = ["gan", "train", "--split", "test", "--width", "4", "--latent-dim", "8", "--batch-size", "16",
       "--checkpoint-every", "2", "--sample-every", "1000", "--quiet"]
TRAIN = ["train", "--epochs", "1", "--test-subset", "32", "--batch-size", "32", "--quiet"]
CRAFT = ["craft", "det", "-n", "6", "--shard-size", "3", "--steps", "2", "--quiet"]


def _files(folder: Path) -> dict:
    """Every file under ``folder`` with its bytes: to show that a refused run touched nothing."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _refused(capsys, *words: str) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err  # one line
    for w in words:
        assert w in err, err
    return err


def _results(out: Path) -> dict:
    return json.loads((out / "results.json").read_text())


def _fingerprint(results: dict, key: str) -> str:
    return next(r["fingerprint"] for r in results["rows"] if r["key"] == key)


# 1. stale results ----------------------------------------------------------------------------------

def test_experiment_rerun_with_other_eps_or_at_steps_recomputes_the_stages_it_changes(tmp_path, capsys):
    out = tmp_path / "rf"
    base = EXPERIMENT + ["--out", str(out)]
    assert main(base) == 0
    first = _results(out)
    assert main(base + ["--eps", "0.2"]) == 0
    other = _results(out)
    assert other["eps"] == 0.2
    assert other["trained_now"] == ["robust", "data-robust"]  # standard model and baseline are unchanged
    assert other["crafted_shards_now"] == {"robust": 1} and other["datasets"]["robust"]["folder"] != "data/robust"
    assert _fingerprint(other, "robust") != _fingerprint(first, "robust")
    assert _fingerprint(other, "standard") == _fingerprint(first, "standard")
    assert main(base + ["--at-steps", "3"]) == 0
    assert _results(out)["trained_now"] == ["robust", "data-robust"]
    assert main(base) == 0  # the first settings again: their stages are found and reused
    again = _results(out)
    assert again["trained_now"] == [] and again["crafted_shards_now"] == {"robust": 0}
    assert [r["fingerprint"] for r in again["rows"]] == [r["fingerprint"] for r in first["rows"]]
    meta = checkpoint_meta(out / "models" / "robust-n64-e1.pt")  # each stage records its identity
    assert len(meta["stage"]) == 64 and meta["settings"]["training"]["adversarial"]["eps"] == 0.1
    assert len(list(out.glob("results-*.json"))) == 3  # every run's results are kept
    assert main(base + ["--force"]) == 0  # --force recomputes the stages of these settings
    forced = _results(out)
    assert forced["trained_now"] == ["standard", "robust", "baseline", "data-robust"]
    assert forced["crafted_shards_now"] == {"robust": 1}


# 2. no silent overwrite ----------------------------------------------------------------------------

def test_gan_train_over_a_finished_run_is_refused_unless_resumed_or_forced(tmp_path, capsys):
    out = tmp_path / "gan"
    assert main(GAN + ["-n", "64", "--steps", "4", "--out", str(out)]) == 0
    before = _files(out)
    capsys.readouterr()
    assert main(GAN + ["-n", "64", "--steps", "2", "--out", str(out)]) == 2
    _refused(capsys, "already holds results", "--resume", "--force")
    assert _files(out) == before
    assert torch.load(out / "checkpoint.pt", weights_only=True)["step"] == 4
    assert main(GAN + ["-n", "64", "--steps", "2", "--out", str(out), "--force"]) == 0
    assert torch.load(out / "checkpoint.pt", weights_only=True)["step"] == 2


def test_train_over_a_finished_run_is_refused_unless_resumed_or_forced(tmp_path, capsys):
    out = tmp_path / "m"
    args = TRAIN + ["--train-subset", "64", "--out", str(out)]
    assert main(args) == 0
    before = _files(tmp_path)
    capsys.readouterr()
    assert main(args) == 2
    _refused(capsys, "already holds results", "--resume", "--force")
    assert _files(tmp_path) == before
    assert main(args + ["--resume", "--force"]) == 2  # one or the other
    assert main(args + ["--force"]) == 0
    assert torch.load(out / "model.train.pt", weights_only=True)["epoch"] == 1


def test_craft_into_a_folder_with_shards_needs_resume_or_force(tmp_path, capsys):
    out = tmp_path / "det"
    assert main(CRAFT + ["--out", str(out)]) == 0
    before = _files(out)
    capsys.readouterr()
    assert main(CRAFT + ["--out", str(out)]) == 2
    _refused(capsys, "already holds results", "--resume")
    assert _files(out) == before
    assert main(CRAFT + ["--out", str(out), "--resume"]) == 0
    assert json.loads(capsys.readouterr().out)["crafted_now"] == 0
    assert main(CRAFT + ["--out", str(out), "--force"]) == 0
    assert json.loads(capsys.readouterr().out)["crafted_now"] == 2


# 3. crafted shards are checked ---------------------------------------------------------------------

@pytest.fixture()
def crafted(tmp_path, capsys):
    out = tmp_path / "det"
    assert main(CRAFT + ["--out", str(out)]) == 0
    capsys.readouterr()
    return out


def _flip_pixels(shard: Path) -> None:
    """Invert bytes inside the image tensor's storage: the file still loads, with wrong pixels."""
    with zipfile.ZipFile(shard) as z:
        entry = next(i for i in z.infolist() if i.filename.endswith("data/0"))
    start = entry.header_offset + 30 + len(entry.filename.encode()) + len(entry.extra)
    data = bytearray(shard.read_bytes())
    for k in range(start + 64, start + 2000, 7):
        data[k] ^= 0xFF
    shard.write_bytes(bytes(data))
    torch.load(shard, weights_only=True)  # the damage is invisible to torch


@pytest.mark.parametrize("damage", ["truncate", "flip", "copy"])
def test_a_damaged_shard_fails_to_load_by_name_and_is_recrafted_on_resume(damage, crafted, capsys):
    shard = crafted / "shard-00001.pt"
    good = shard.read_bytes()
    before = torch.load(shard, weights_only=True)
    if damage == "truncate":
        shard.write_bytes(good[: len(good) // 2])
    elif damage == "flip":
        _flip_pixels(shard)
    else:
        shard.write_bytes((crafted / "shard-00000.pt").read_bytes())
    with pytest.raises(ValueError, match="shard-00001.pt.*SHA-256"):
        CraftedDataset(crafted)
    assert main(CRAFT + ["--out", str(crafted), "--resume"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["crafted_now"] == 1 and summary["recrafted_damaged"] == [1] and summary["complete"]
    after = torch.load(shard, weights_only=True)  # crafted again, bit for bit
    assert set(after) == set(before) and all(torch.equal(after[k], before[k]) for k in before)
    assert len(CraftedDataset(crafted)) == 6


def test_manifest_records_shard_hashes_batch_size_and_has_the_shards_permissions(crafted, capsys):
    manifest = json.loads((crafted / "manifest.json").read_text())
    assert manifest["batch_size"] == 250 and all(len(s["sha256"]) == 64 for s in manifest["shards"])
    assert (crafted / "manifest.json").stat().st_mode & 0o777 == (crafted / "shard-00000.pt").stat().st_mode & 0o777
    assert main(CRAFT + ["--out", str(crafted), "--resume", "--batch-size", "2"]) == 2  # other bits: refused
    _refused(capsys, "other settings", "batch_size")


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 120) -> None:
    """Until ``path`` exists (or the process ends, or time runs out)."""
    deadline = time.monotonic() + seconds
    while proc.poll() is None and time.monotonic() < deadline:
        if path.exists():
            return
        time.sleep(0.05)
    raise AssertionError(f"the first run never wrote {path}")


def test_a_second_craft_into_the_same_folder_is_refused_while_the_first_runs(tmp_path, capsys):
    out = tmp_path / "det"
    args = ["craft", "det", "-n", "4", "--shard-size", "2", "--steps", "1000000", "--quiet", "--out", str(out)]
    proc = subprocess.Popen([sys.executable, "-m", "robustgan.cli", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=dict(os.environ))
    try:
        _wait_for(out / "manifest.json", proc)  # written once the first run holds the folder
        assert main(args + ["--resume"]) == 2
        _refused(capsys, f"pid {proc.pid}", "wait for it to finish")
    finally:
        proc.kill()
        proc.wait()
    assert not list(out.glob("shard-*.pt"))  # the second run crafted nothing


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path, capsys):
    out = tmp_path / "det"
    out.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (out / ".robustgan.lock").write_text(f"{dead.pid}\n")
    assert main(CRAFT + ["--out", str(out)]) == 0
    assert len(CraftedDataset(out)) == 6 and not (out / ".robustgan.lock").exists()


# 4. resume checks the run identity -----------------------------------------------------------------

def test_train_resume_with_other_data_or_architecture_is_refused(tmp_path, capsys):
    out = tmp_path / "m"
    assert main(TRAIN + ["--train-subset", "64", "--out", str(out)]) == 0
    ckpt = torch.load(out / "model.train.pt", weights_only=True)
    assert len(ckpt["run"]["hash"]) == 64 and ckpt["run"]["settings"]["train_examples"] == 64
    capsys.readouterr()
    assert main(TRAIN + ["--train-subset", "32", "--out", str(out), "--resume", "--epochs", "2"]) == 2
    _refused(capsys, "cannot resume", "train_examples (64 → 32)")
    assert main(TRAIN + ["--train-subset", "64", "--arch", "small-resnet", "--out", str(out), "--resume",
                         "--epochs", "2"]) == 2
    _refused(capsys, "cannot resume", "arch")
    assert torch.load(out / "model.train.pt", weights_only=True)["epoch"] == 1
    assert main(TRAIN + ["--train-subset", "64", "--out", str(out), "--resume", "--epochs", "2"]) == 0
    assert torch.load(out / "model.train.pt", weights_only=True)["epoch"] == 2


def test_gan_resume_with_other_data_is_refused(tmp_path, capsys):
    out = tmp_path / "gan"
    assert main(GAN + ["-n", "64", "--steps", "2", "--out", str(out)]) == 0
    run = torch.load(out / "checkpoint.pt", weights_only=True)["run"]
    assert len(run["hash"]) == 64 and run["settings"]["num_train"] == 64 and run["settings"]["split"] == "test"
    capsys.readouterr()
    assert main(GAN + ["-n", "32", "--steps", "4", "--out", str(out), "--resume"]) == 2
    _refused(capsys, "cannot resume", "num_train (64 → 32)")
    assert main(GAN + ["-n", "64", "--split", "train", "--steps", "4", "--out", str(out), "--resume"]) == 2
    _refused(capsys, "cannot resume", "split")
    assert main(GAN + ["-n", "64", "--steps", "4", "--out", str(out), "--resume"]) == 0
    assert torch.load(out / "checkpoint.pt", weights_only=True)["step"] == 4


# 10. counts of zero and flags that would be ignored ------------------------------------------------

@pytest.mark.parametrize("args", [["train", "--epochs", "0"], ["gan", "train", "--steps", "0"],
                                  ["gan", "train", "--resume", "--more-steps", "0"], ["craft", "det", "--steps", "0"]])
def test_a_count_of_zero_is_a_usage_error(args, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args + ["--out", str(tmp_path / "x")])
    assert exc.value.code == 2 and "must be >= 1" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_mean_without_arch_is_an_error(tmp_path, capsys):
    from robustgan.models import load_model

    with pytest.raises(ValueError, match="--arch"):
        load_model(default_checkpoint_path(), mean=[0.5])
    assert main(["evaluate", "--model", str(default_checkpoint_path()), "--mean", "0.5", "--std", "0.5",
                 "-n", "10", "--num-minimal", "2", "--steps", "1", "--no-checks", "--attacks", "fgsm",
                 "--norms", "linf", "--eps-linf", "0.1", "--quiet", "--out", str(tmp_path / "rep")]) == 2
    _refused(capsys, "--mean", "--arch")


def test_gan_resume_takes_the_checkpoints_settings_without_retyping_them(tmp_path, capsys):
    """``gan train --resume`` needs only --out and the new step count: every other setting comes
    from the checkpoint; a setting typed again with another value is still refused, by name."""
    out = tmp_path / "gan"
    first = GAN + ["-n", "64", "--steps", "2", "--out", str(out), "--ema", "0.5", "--label-smoothing", "0.1"]
    assert main(first) == 0
    assert main(["gan", "train", "--out", str(out), "--resume", "--steps", "3", "--quiet"]) == 0
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] == 3 and ckpt["config"]["ema"] == 0.5 and ckpt["config"]["label_smoothing"] == 0.1
    assert ckpt["run"]["settings"]["num_train"] == 64
    capsys.readouterr()
    assert main(["gan", "train", "--out", str(out), "--resume", "--steps", "4", "--ema", "0.9", "--quiet"]) == 2
    _refused(capsys, "cannot resume", "ema (0.5 → 0.9)")
