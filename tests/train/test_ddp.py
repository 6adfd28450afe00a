"""Two CPU processes under torchrun (gloo): one unchanged training script, identical weights on both ranks."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import torch

SCRIPT = textwrap.dedent('''
    import os, sys, torch
    from torch.utils.data import Subset
    import robustgan.train.trainer as trainer
    from robustgan.data import load_dataset
    from robustgan.models import Normalized, SmallCNN
    from robustgan.train import AdversarialConfig, TrainConfig, train_classifier

    out, method = sys.argv[1], sys.argv[2]
    rank = int(os.environ["RANK"])
    saves = []
    real_save = trainer.atomic_save
    trainer.atomic_save = lambda obj, path: (saves.append(str(path)), real_save(obj, path))

    ds, _ = load_dataset("fashion-mnist", "test")
    torch.manual_seed(100 + rank)  # different weights on each rank: DDP must start all from rank 0's
    model = Normalized(SmallCNN(width=8), (0.286,), (0.353,))
    init = {k: v.clone() for k, v in model.state_dict().items()}
    adv = AdversarialConfig(method, eps=0.1, steps=2)
    cfg = TrainConfig(epochs=2, batch_size=64, seed=1, adversarial=adv)
    history = train_classifier(model, Subset(ds, range(256)), cfg, checkpoint=os.path.join(out, "run.train.pt"))
    torch.save({"state": model.state_dict(), "init": init, "saves": saves, "history": history.epochs,
                "training": model.training}, os.path.join(out, f"rank{rank}.pt"))
''')


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed not built")
@pytest.mark.parametrize("method", ["pgd", "trades"])
def test_two_gloo_processes_end_with_identical_weights_and_only_rank0_writes(method, tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(script), str(tmp_path), method]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=170, env=env)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert any(not torch.equal(r0["init"][k], r1["init"][k]) for k in r0["init"])  # they did start apart
    for k in r0["state"]:
        assert torch.equal(r0["state"][k], r1["state"][k]), k
    assert any(not torch.equal(r0["state"][k], r0["init"][k]) for k in r0["state"])  # training moved them
    assert r0["saves"] == [str(tmp_path / "run.train.pt")] * 2 and r1["saves"] == []
    ckpt = torch.load(tmp_path / "run.train.pt", weights_only=True)
    assert ckpt["epoch"] == 2 and len(ckpt["torch_rng_ranks"]) == 2
    # epoch statistics are summed over ranks: every one of the 256 images counted once per epoch
    for h0, h1 in zip(r0["history"], r1["history"]):
        assert h0["loss"] == h1["loss"] and h0["train_acc"] == h1["train_acc"]
        assert h0["images_per_s"] * h0["seconds"] == pytest.approx(256)
    assert (proc.stdout + proc.stderr).count("epoch=1 ") == 1  # only rank 0 prints
    assert not r0["training"] and not r1["training"]
