"""``craft``, ``invert``/``attribute`` and ``gan train`` scale out unchanged: under torchrun (two gloo
processes) each takes its share, rank 0 alone writes, and the results are those of one process — bit
for bit where the work is cut into units (shards, inversion units), and within a tolerance for GAN
losses (each rank's BatchNorm statistics come from its half of the batch). Resume works under
torchrun too."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict, List

import pytest
import torch

from robustgan.cli import main
from robustgan.features import read_manifest
from robustgan.features.shards import load_shard
from robustgan.gan import GANConfig, load_checkpoint, load_generator, train_gan
from robustgan.gan.inversion import invert
from robustgan.gan.inversion.job import unit_cuts

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed not built")

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]

# Runs the CLI and records, per rank, every file it put in place: all of the package's writes are
# atomic (a temporary file renamed with os.replace), so rank 1's list shows whether it wrote anything.
RECORDER = textwrap.dedent('''
    import json, os, sys
    rank, writes, real_replace = os.environ.get("RANK", "0"), [], os.replace
    def replace(src, dst, *args, **kwargs):
        writes.append(os.path.basename(str(dst)))
        return real_replace(src, dst, *args, **kwargs)
    os.replace = replace
    from robustgan.cli import main
    code = main(sys.argv[2:])
    with open(os.path.join(sys.argv[1], f"writes-{rank}.json"), "w") as f:
        json.dump({"code": code, "writes": writes}, f)
    sys.exit(code)
''')


def torchrun_cli(record: Path, *args: str) -> List[Dict]:
    """``robustgan ARGS`` on two gloo processes; each rank's exit code and the files it wrote."""
    record.mkdir(parents=True, exist_ok=True)
    script = record / "record.py"
    script.write_text(RECORDER)
    proc = subprocess.run([*TORCHRUN, str(script), str(record), *args], capture_output=True, text=True, env=ENV,
                          timeout=170)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return [json.loads((record / f"writes-{r}.json").read_text()) for r in (0, 1)]


# --- craft: the shards, dealt out over the processes -------------------------------------------------

CRAFT = ["craft", "det", "-n", "8", "--shard-size", "2", "--batch-size", "2", "--steps", "2", "--quiet",
         "--device", "cpu"]


def _shards(folder: Path) -> Dict[int, Dict[str, torch.Tensor]]:
    return {s["index"]: load_shard(folder, s) for s in read_manifest(folder)["shards"]}


def _same_shards(a: Path, b: Path) -> None:
    listed = lambda f: [{k: v for k, v in s.items() if k != "sha256"} for s in read_manifest(f)["shards"]]  # noqa: E731
    assert listed(a) == listed(b) and len(listed(a)) == 4
    sa, sb = _shards(a), _shards(b)
    for i in sa:
        assert sa[i].keys() == sb[i].keys()
        for key in sa[i]:
            assert sa[i][key].dtype == sb[i][key].dtype and torch.equal(sa[i][key], sb[i][key]), (i, key)


def test_craft_on_two_processes_gives_the_shards_of_one_bit_for_bit_and_resumes(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    assert main([*CRAFT, "--out", str(one)]) == 0
    rank0, rank1 = torchrun_cli(tmp_path / "rec1", *CRAFT, "--out", str(two))
    assert rank0["code"] == rank1["code"] == 0
    assert rank1["writes"] == []  # rank 0 alone writes
    assert sorted({w for w in rank0["writes"] if w.startswith("shard-")}) == [f"shard-{i:05d}.pt" for i in range(4)]
    assert read_manifest(two)["complete"]
    _same_shards(one, two)
    assert sorted(p.name for p in two.iterdir()) == sorted(p.name for p in one.iterdir())  # no lock, nothing else

    # resume under torchrun: a lost shard is crafted again (the same bits), the others are kept
    (two / "shard-00002.pt").unlink()
    rank0, rank1 = torchrun_cli(tmp_path / "rec2", *CRAFT, "--out", str(two), "--resume")
    assert rank1["writes"] == [] and [w for w in rank0["writes"] if w.startswith("shard-")] == ["shard-00002.pt"]
    _same_shards(one, two)


# --- invert and attribute: the images, cut into units --------------------------------------------------

@pytest.fixture(scope="module")
def generators(tmp_path_factory) -> List[Path]:
    """Two tiny DCGANs (seeds 0 and 1), a few steps each: what matters here is equal numbers, not quality."""
    from robustgan.data import load_dataset

    ds, _ = load_dataset("fashion-mnist", "test")
    x, y = (t[:64] for t in ds.tensors)
    paths = []
    for seed in (0, 1):
        out = tmp_path_factory.mktemp(f"gan{seed}")
        train_gan(x, y, GANConfig(width=4, latent_dim=8, batch_size=16, seed=seed), steps=3, out_dir=out,
                  progress=False, sample_every=1000)
        paths.append(out / "checkpoint.pt")
    return paths


def _attribute_args(paths: List[Path]) -> List[str]:
    # 3 samples per generator + 4 real + 6 calibration images = 16 images, 4 units of 4
    return ["attribute", *sum((["--generator", str(p)] for p in paths), []), "--num-generated", "3",
            "--num-real", "4", "--num-calibration", "6", "--restarts", "2", "--steps", "5", "--chunk", "4",
            "--quiet", "--device", "cpu"]


def _numbers(report: dict) -> dict:
    """What the run measured (not how long it took, or the settings and command that produced it)."""
    inversion = {k: v for k, v in report["inversion"].items() if k not in ("seconds", "progress")}
    return {**{k: v for k, v in report.items() if k not in ("settings", "command", "inversion")},
            "inversion": inversion}


def test_attribute_on_two_processes_gives_the_numbers_of_one_and_resumes_under_torchrun(generators, tmp_path,
                                                                                        capsys):
    args = _attribute_args(generators)
    one, two, resumed = tmp_path / "one", tmp_path / "two", tmp_path / "resumed"
    assert main([*args, "--out", str(one)]) == 0
    reference = _numbers(json.loads((one / "report.json").read_text()))
    assert len(list((one / "state" / "attribute").glob("unit-*.pt"))) == 4
    assert reference["generated_images"] == 6 and reference["real_images"] == 4

    rank0, rank1 = torchrun_cli(tmp_path / "rec1", *args, "--out", str(two))
    assert rank1["writes"] == []
    assert {"report.json", "roc.png", "confusion.png", "reconstructions.png"} <= set(rank0["writes"])
    assert sorted(w for w in rank0["writes"] if w.startswith("unit-")) == [f"unit-{i:05d}.pt" for i in range(4)]
    assert _numbers(json.loads((two / "report.json").read_text())) == reference
    assert sorted(p.name for p in two.iterdir()) == sorted(p.name for p in one.iterdir())

    # a run stopped after three of its units, resumed on two processes: the one missing unit is inverted
    shutil.copytree(one, resumed)
    (resumed / "state" / "attribute" / "unit-00001.pt").unlink()
    rank0, rank1 = torchrun_cli(tmp_path / "rec2", *args, "--out", str(resumed), "--resume")
    assert rank1["writes"] == [] and [w for w in rank0["writes"] if w.startswith("unit-")] == ["unit-00001.pt"]
    assert _numbers(json.loads((resumed / "report.json").read_text())) == reference

    # the folder holds results: refused without --resume or --force, and --resume with other settings
    capsys.readouterr()
    assert main([*args, "--out", str(one)]) == 2
    assert "already holds results" in capsys.readouterr().err
    assert main([*args, "--steps", "6", "--out", str(one), "--resume"]) == 2
    assert "steps (5 → 6)" in capsys.readouterr().err
    assert main([*args, "--out", str(one), "--force"]) == 0
    assert _numbers(json.loads((one / "report.json").read_text())) == reference


def test_invert_resumes_its_units_and_equals_the_library_call_with_the_same_chunks(generators, tmp_path, capsys):
    out = tmp_path / "inv"
    args = ["invert", "--generator", str(generators[0]), "-n", "5", "--chunk", "2", "--restarts", "2", "--steps", "4",
            "--quiet", "--device", "cpu", "--out", str(out)]
    assert main(args) == 0
    saved = torch.load(out / "inversion.pt", weights_only=True)
    library = invert(load_generator(generators[0]), saved["images"], restarts=2, steps=4, chunk=2, seed=0)
    assert torch.equal(saved["residuals"], library.residuals) and torch.equal(saved["latents"], library.latents)
    assert [c.stop - c.start for c in unit_cuts(5, 2)] == [2, 2, 1] and len(unit_cuts(200)) == 8

    capsys.readouterr()
    assert main(args) == 2 and "--resume" in capsys.readouterr().err
    (out / "state" / "invert" / "unit-00002.pt").unlink()
    assert main([*args, "--resume"]) == 0  # units 0 and 1 loaded, unit 2 inverted again
    again = torch.load(out / "inversion.pt", weights_only=True)
    assert torch.equal(again["residuals"], saved["residuals"]) and torch.equal(again["latents"], saved["latents"])
    assert main([*args, "--resume", "--chunk", "3"]) == 2 and "chunk (2 → 3)" in capsys.readouterr().err


# --- gan train: data-parallel, as the classifier trainer ----------------------------------------------

GAN = ["--split", "test", "-n", "64", "--width", "4", "--latent-dim", "8", "--batch-size", "16",
       "--checkpoint-every", "1000", "--sample-every", "1000", "--quiet", "--device", "cpu"]

# Three CLI runs in one launch (one process group, which the CLI joins): straight to 6 steps, and 3
# steps then resumed to 6. Each rank saves the weights it ends with and the files it wrote.
GAN_SCRIPT = textwrap.dedent('''
    import os, sys, torch
    import torch.distributed as dist
    import robustgan.gan.trainer as trainer
    from robustgan.cli import main

    record, common = sys.argv[1], sys.argv[2:]
    rank = int(os.environ.get("RANK", "0"))
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        dist.init_process_group("gloo")
    writes, runs, real_replace, real_train = [], [], os.replace, trainer.train_gan
    def replace(src, dst, *args, **kwargs):
        writes.append(str(dst))
        return real_replace(src, dst, *args, **kwargs)
    def train(*args, **kwargs):
        runs.append(real_train(*args, **kwargs))
        return runs[-1]
    os.replace, trainer.train_gan = replace, train
    straight, stopped = os.path.join(record, "straight"), os.path.join(record, "stopped")
    codes = [main(["gan", "train", *common, "--steps", "6", "--out", straight]),
             main(["gan", "train", *common, "--steps", "3", "--out", stopped]),
             main(["gan", "train", *common, "--steps", "6", "--out", stopped, "--resume"])]
    state = lambda m: {k: v.clone() for k, v in m.state_dict().items()}
    torch.save({"codes": codes, "writes": writes,
                "runs": [{"G": state(r.generator), "D": state(r.discriminator), "history": r.history} for r in runs]},
               os.path.join(record, f"rank{rank}.pt"))
    if dist.is_initialized():
        dist.destroy_process_group()
''')
# |loss(2 processes) − loss(1 process)|, losses ≈ 1.3 (D) and 0.7 (G): per step, and of the mean over the
# steps. They are not equal: each rank's BatchNorm statistics come from its half of the batch, and rank 1
# draws other latents (measured: at most 0.13 per step, 0.015 on the mean).
LOSS_TOLERANCE, MEAN_TOLERANCE = 0.25, 0.1


def _run_gan_script(record: Path, processes: int) -> List[dict]:
    record.mkdir(parents=True)
    script = record / "gan.py"
    script.write_text(GAN_SCRIPT)
    launch = TORCHRUN if processes == 2 else [sys.executable]
    proc = subprocess.run([*launch, str(script), str(record), *GAN], capture_output=True, text=True, env=ENV,
                          timeout=170)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return [torch.load(record / f"rank{r}.pt", weights_only=True) for r in range(processes)]


def _same(a: Dict[str, torch.Tensor], b: Dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_gan_train_on_two_processes_keeps_one_model_tracks_one_process_and_resumes(tmp_path):
    (single,) = _run_gan_script(tmp_path / "one", 1)
    r0, r1 = _run_gan_script(tmp_path / "two", 2)
    assert r0["codes"] == r1["codes"] == [0, 0, 0]
    for a, b in zip(r0["runs"], r1["runs"]):  # identical weights and buffers on both ranks, one history
        assert _same(a["G"], b["G"]) and _same(a["D"], b["D"]) and a["history"] == b["history"]
    assert r1["writes"] == []  # rank 0 alone writes: checkpoints, grids, history.json
    straight = tmp_path / "two" / "straight"
    assert {str(straight / n) for n in ("checkpoint.pt", "history.json", "samples/step_000006.png")} <= set(r0["writes"])
    assert len(load_checkpoint(straight / "checkpoint.pt")["noise_rng_ranks"]) == 2

    # resumed under torchrun: the run of an uninterrupted two-process one, bit for bit
    done, resumed = r0["runs"][0], r0["runs"][2]
    assert resumed["history"] == done["history"] and _same(resumed["G"], done["G"]) and _same(resumed["D"], done["D"])

    # the losses of the global batch track the one-process run's
    one = single["runs"][0]["history"]
    assert len(one) == len(done["history"]) == 6
    for h1, h2 in zip(one, done["history"]):
        for key in ("d_loss", "g_loss"):
            assert abs(h1[key] - h2[key]) < LOSS_TOLERANCE, (key, h1, h2)
    for key in ("d_loss", "g_loss"):
        mean = lambda history: sum(h[key] for h in history) / len(history)  # noqa: E731
        assert abs(mean(one) - mean(done["history"])) < MEAN_TOLERANCE, key
    assert not _same(single["runs"][0]["G"], done["G"])  # and they are two runs, not one copied
