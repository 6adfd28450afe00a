"""``gan train --arch pix2pix|cyclegan`` under torchrun (two gloo processes), as DCGAN's trainer is tested in
tests/test_scale_out_jobs.py: the ranks keep one model, rank 0 alone writes, a stopped-and-resumed run is
the uninterrupted one bit for bit, and the model tracks the one-process run of the same global batch."""
from __future__ import annotations

import os
import sys
import textwrap
import subprocess
from pathlib import Path
from typing import Dict, List

import pytest
import torch

from robustgan.gan.translation import load_translation_checkpoint

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed not built")

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
ARCHS = ("pix2pix", "cyclegan")
STEPS = 4
# -n: pairs (pix2pix) or images per domain (cyclegan); 16 images, a global batch of 4: one epoch in 4 steps
COMMON = ["--split", "test", "-n", "16", "--width", "4", "--batch-size", "4", "--ema", "0.5",
          "--checkpoint-every", "1000", "--sample-every", "1000", "--quiet", "--device", "cpu"]

# Per arch three CLI runs in one launch (one process group, which the CLI joins): straight to STEPS
# steps, and STEPS/2 then resumed to STEPS; under torchrun also one refused for an odd global batch.
# Each rank saves the weights it ends with, the files it put in place (every write of the package is
# atomic: a temporary file renamed with os.replace) and what the refusal said.
SCRIPT = textwrap.dedent('''
    import contextlib, io, os, sys, torch
    import torch.distributed as dist
    import robustgan.gan.translation as translation
    from robustgan.cli import main

    record, steps, common = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        dist.init_process_group("gloo")
    writes, runs, real_replace, real_train = [], [], os.replace, translation.train_translation
    def replace(src, dst, *args, **kwargs):
        writes.append(str(dst))
        return real_replace(src, dst, *args, **kwargs)
    def train(*args, **kwargs):
        runs.append(real_train(*args, **kwargs))
        return runs[-1]
    os.replace, translation.train_translation = replace, train
    codes = []
    for arch in ("pix2pix", "cyclegan"):
        args = ["gan", "train", "--arch", arch, *common]
        straight, stopped = os.path.join(record, arch, "straight"), os.path.join(record, arch, "stopped")
        codes += [main([*args, "--steps", str(steps), "--out", straight]),
                  main([*args, "--steps", str(steps // 2), "--out", stopped]),
                  main([*args, "--steps", str(steps), "--out", stopped, "--resume"])]
    refusal = io.StringIO()
    if world == 1:  # the weights both runs start from (0 steps: from Python, as the CLI wants >= 1)
        for arch, task in (("pix2pix", "edges"), ("cyclegan", "unpaired")):
            train(translation.make_task(task, n=16, split="test"),
                  translation.TranslationConfig(arch=arch, width=4, batch_size=4, ema=0.5), steps=0, progress=False)
    else:
        with contextlib.redirect_stderr(refusal):
            codes.append(main(["gan", "train", "--arch", "pix2pix", *common, "--batch-size", "3", "--steps", "1",
                               "--out", os.path.join(record, "refused")]))
    state = lambda m: {k: v.clone() for k, v in m.state_dict().items()}
    group = lambda modules: {k: state(m) for k, m in (modules or {}).items()}
    torch.save({"codes": codes, "writes": writes, "refusal": refusal.getvalue(),
                "runs": [{"G": group(r.generators), "D": group(r.discriminators), "EMA": group(r.generators_ema),
                          "history": r.history} for r in runs]},
               os.path.join(record, f"rank{rank}.pt"))
    if dist.is_initialized():
        dist.destroy_process_group()
''')

# |loss(2 processes) − loss(1 process)| per step, of losses ≈ 0.7 / 1.0 (d_loss) and ≈ 40 / 14 (g_loss, the
# λ-weighted L1 / cycle terms). pix2pix's BatchNorm takes its statistics from each rank's half of the batch, so
# its two runs differ (measured: at most 4e-4 on d_loss, 0.02 on g_loss); CycleGAN normalises per image
# (instance norm) and its pools still pass every fake through, so its runs differ by float rounding alone
# (measured ≤ 1e-6).
LOSS_TOLERANCE = {"pix2pix": {"d_loss": 0.05, "g_loss": 0.5}, "cyclegan": {"d_loss": 1e-4, "g_loss": 1e-3}}
# ‖θ(2 processes) − θ(1 process)‖ / ‖θ(1 process) − θ(start)‖ over the trained weights of G and of D. Adam
# divides each gradient entry by its own scale, so an entry whose gradient is ≈ 0 (a bias just before a
# normalisation) moves by ≈ lr a step in a direction set by rounding: even CycleGAN's runs, equal in their
# losses, differ there (measured ratio 0.03 for G, 0.04 for D; the median entry agrees exactly). pix2pix's
# per-rank BatchNorm statistics move every weight a little (measured 0.47 for G, 0.33 for D); two unrelated
# runs from the same start would be near √2.
WEIGHT_TOLERANCE = {"pix2pix": 0.75, "cyclegan": 0.1}


def _launch(record: Path, processes: int) -> List[dict]:
    record.mkdir(parents=True)
    script = record / "translation.py"
    script.write_text(SCRIPT)
    launch = TORCHRUN if processes == 2 else [sys.executable]
    proc = subprocess.run([*launch, str(script), str(record), str(STEPS), *COMMON], capture_output=True, text=True,
                          env=ENV, timeout=170)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return [torch.load(record / f"rank{r}.pt", weights_only=True) for r in range(processes)]


def _same(a: Dict[str, Dict[str, torch.Tensor]], b: Dict[str, Dict[str, torch.Tensor]]) -> bool:
    return a.keys() == b.keys() and all(
        a[n].keys() == b[n].keys() and all(torch.equal(a[n][k], b[n][k]) for k in a[n]) for n in a)


def _distance(a: Dict[str, Dict[str, torch.Tensor]], b: Dict[str, Dict[str, torch.Tensor]]) -> float:
    """‖a − b‖ over the trained weights (parameters, not BatchNorm's running statistics)."""
    return sum(float(((a[n][k] - b[n][k]) ** 2).sum()) for n in a for k in a[n]
               if a[n][k].is_floating_point() and "running" not in k) ** 0.5


@pytest.fixture(scope="module")
def launches(tmp_path_factory):
    root = tmp_path_factory.mktemp("translation-scale-out")
    (single,) = _launch(root / "one", 1)
    r0, r1 = _launch(root / "two", 2)
    return root, single, r0, r1


def test_translation_train_on_two_processes_keeps_one_model_and_only_rank_0_writes(launches):
    root, _, r0, r1 = launches
    assert r0["codes"] == r1["codes"] == [0] * 6 + [2]
    assert len(r0["runs"]) == len(r1["runs"]) == 6
    for a, b in zip(r0["runs"], r1["runs"]):  # identical weights, EMA and buffers on both ranks, one history
        for group in ("G", "D", "EMA"):
            assert a[group] and _same(a[group], b[group]), group
        assert a["history"] == b["history"]
    assert r1["writes"] == []  # rank 0 alone writes: checkpoints, grids, history.json
    for arch in ARCHS:
        straight = root / "two" / arch / "straight"
        assert {str(straight / n) for n in ("checkpoint.pt", "history.json", f"samples/step_{STEPS:06d}.png")} \
            <= set(r0["writes"])
        ckpt = load_translation_checkpoint(straight / "checkpoint.pt")
        assert len(ckpt["noise_rng_ranks"]) == len(ckpt["pools_ranks"]) == 2
    pools = load_translation_checkpoint(root / "two" / "cyclegan" / "straight" / "checkpoint.pt")["pools_ranks"]
    assert all(p["a"]["images"].shape[0] == STEPS * 2 for p in pools)  # each rank pools its own half's fakes
    assert not torch.equal(pools[0]["a"]["images"], pools[1]["a"]["images"])
    # an odd global batch is refused on every rank with the DCGAN trainer's sentence, nothing hangs
    assert "batch_size 3 must be divisible by the 2 processes" in r0["refusal"] == r1["refusal"]


def test_translation_train_resumed_on_two_processes_is_the_uninterrupted_run(launches):
    _, _, r0, _ = launches
    for i, arch in enumerate(ARCHS):
        done, resumed = r0["runs"][3 * i], r0["runs"][3 * i + 2]
        assert len(done["history"]) == STEPS and resumed["history"] == done["history"], arch
        for group in ("G", "D", "EMA"):
            assert _same(resumed[group], done[group]), (arch, group)


def test_translation_train_on_two_processes_tracks_one_process(launches):
    _, single, r0, _ = launches
    for i, arch in enumerate(ARCHS):
        one, two = single["runs"][3 * i], r0["runs"][3 * i]
        assert len(one["history"]) == len(two["history"]) == STEPS
        for h1, h2 in zip(one["history"], two["history"]):
            for key, tolerance in LOSS_TOLERANCE[arch].items():
                assert abs(h1[key] - h2[key]) < tolerance, (arch, key, h1, h2)
        start = single["runs"][6 + i]  # 0 steps: the weights both runs start from
        for group in ("G", "D"):
            moved = _distance(one[group], start[group])
            assert 0 < _distance(one[group], two[group]) < WEIGHT_TOLERANCE[arch] * moved, (arch, group)
        # and the one-process resume under the new code is still bit for bit
        assert single["runs"][3 * i + 2]["history"] == one["history"]
        assert _same(single["runs"][3 * i + 2]["G"], one["G"])
