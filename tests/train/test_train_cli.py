"""Training resumes bit-for-bit; the CLI's evaluate job writes its report."""
from __future__ import annotations

import json

import torch
from torch.utils.data import Subset

from robustgan.cli import main
from robustgan.data import load_dataset
from robustgan.models import Normalized, SmallCNN
from robustgan.train import TrainConfig, train_classifier


def _fresh():
    torch.manual_seed(3)
    return Normalized(SmallCNN(width=8), (0.286,), (0.353,))


def test_resume_continues_bit_for_bit(tmp_path):
    ds, _ = load_dataset("fashion-mnist", "test")
    small = Subset(ds, range(384))
    cfg = TrainConfig(epochs=2, batch_size=64, seed=5)
    straight = _fresh()
    train_classifier(straight, small, cfg, progress=False)
    ckpt = tmp_path / "run.pt"
    interrupted = _fresh()
    train_classifier(interrupted, small, TrainConfig(epochs=1, batch_size=64, seed=5), checkpoint=ckpt, progress=False)
    resumed = _fresh()
    history = train_classifier(resumed, small, cfg, checkpoint=ckpt, resume=True, progress=False)
    assert [h["epoch"] for h in history.epochs] == [1, 2]
    for (k, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k


def test_evaluate_writes_report_json_plot_grid_and_markdown(tmp_path, capsys):
    out = tmp_path / "rep"
    code = main(["evaluate", "-n", "120", "--num-minimal", "8", "--steps", "5", "--eps-linf", "0.05,0.1",
                 "--eps-l2", "1,2", "--no-checks", "--out", str(out), "--quiet"])
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert report["clean_accuracy"] > 0.8
    pgd = next(s for s in report["sweeps"] if s["attack"] == "pgd" and s["norm"] == "linf")
    acc = pgd["robust_accuracy"]
    assert acc[1] <= acc[0] <= report["clean_accuracy"]
    assert pgd["attacked"][1] <= pgd["attacked"][0]  # only survivors are attacked again
    assert set(report["minimal"]) == {"linf", "l2"}
    assert {"deepfool", "fmn", "ddn", "cw", "lbfgs", "envelope"} == set(report["minimal"]["l2"]["attacks"])
    assert report["per_class"] and len(report["per_class"]["robust"]) == 10
    for f in ("robust_accuracy.png", "adversarial_examples.png", "report.md"):
        assert (out / f).stat().st_size > 1000
    assert "clean accuracy" in capsys.readouterr().out


def test_cli_reports_bad_arguments_without_a_traceback(tmp_path, capsys):
    assert main(["evaluate", "--model", str(tmp_path / "none.pt"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "checkpoint not found" in err and "Traceback" not in err
    assert main(["evaluate", "--attacks", "fgsm,boom", "--out", str(tmp_path)]) == 2
    assert "unknown attack" in capsys.readouterr().err
