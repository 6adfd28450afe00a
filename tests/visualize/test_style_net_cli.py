"""`robustgan style-net train | apply`: checkpoints that load with weights_only, exact resume, one-pass stylising."""
from __future__ import annotations

import json

import pytest
import torch

from robustgan.cli import main
from robustgan.data import load_dataset
from robustgan.visualize.style_network import stylize
from robustgan.visualize.style_network_train import load_style_network

TINY = ["-n", "48", "--split", "test", "--batch-size", "4", "--width", "4", "--blocks", "1", "--checkpoint-every", "2",
        "--device", "cpu", "--quiet"]


def _train(out, steps: int, *extra: str) -> int:
    return main(["style-net", "train", *TINY, "--steps", str(steps), "--out", str(out), *extra])


def _history(out):
    return torch.load(out / "style-net.pt", map_location="cpu", weights_only=True)["history"]


def test_train_writes_an_atomic_weights_only_checkpoint_and_its_report(tmp_path):
    out = tmp_path / "run"
    assert _train(out, 3) == 0
    state = torch.load(out / "style-net.pt", map_location="cpu", weights_only=True)
    assert state["step"] == 3 and len(state["history"]) == 3
    report = json.loads((out / "train.json").read_text())
    assert report["step"] == 3 and report["last"]["loss"] == pytest.approx(state["history"][-1]["loss"])
    assert (out / "samples.png").is_file()
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]  # nothing half-written left behind


def test_a_resumed_run_continues_exactly_where_the_checkpoint_stopped(tmp_path):
    assert _train(tmp_path / "straight", 4) == 0
    assert _train(tmp_path / "parts", 2) == 0
    assert _train(tmp_path / "parts", 4, "--resume") == 0
    assert _history(tmp_path / "parts") == _history(tmp_path / "straight")
    a = load_style_network(tmp_path / "straight" / "style-net.pt").state_dict()
    b = load_style_network(tmp_path / "parts" / "style-net.pt").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_train_refuses_to_overwrite_or_to_resume_another_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(out, 2) == 0
    assert _train(out, 2) == 2 and "--resume" in capsys.readouterr().err
    assert _train(out, 3, "--resume", "--width", "8") == 2 and "settings differ" in capsys.readouterr().err
    assert _train(tmp_path / "empty", 2, "--resume") == 2 and "no checkpoint" in capsys.readouterr().err
    assert _train(out, 2, "--force") == 0 and len(_history(out)) == 2


def test_apply_stylises_in_one_pass_what_the_network_gives(tmp_path):
    assert _train(tmp_path / "run", 2) == 0
    ckpt = tmp_path / "run" / "style-net.pt"
    out = tmp_path / "applied"
    assert main(["style-net", "apply", "--style-net", str(ckpt), "--input", "test:3", "--input", "test:5",
                 "--out", str(out), "--device", "cpu", "--quiet"]) == 0
    y = torch.load(out / "stylised.pt", weights_only=True)
    x = load_dataset("fashion-mnist", "test")[0].tensors[0][[3, 5]].float()
    assert torch.allclose(y, stylize(load_style_network(ckpt), x))
    report = json.loads((out / "apply.json").read_text())
    assert report["images"] == 2 and report["seconds_per_image"] > 0 and (out / "stylised.png").is_file()


def test_apply_takes_a_colour_photo_of_odd_size_and_refuses_a_foreign_file(tmp_path, capsys):
    from PIL import Image

    assert _train(tmp_path / "run", 1) == 0
    photo = tmp_path / "odd.png"
    Image.fromarray((torch.rand(15, 21, 3) * 255).byte().numpy()).save(photo)
    out = tmp_path / "applied"
    ckpt = str(tmp_path / "run" / "style-net.pt")
    assert main(["style-net", "apply", "--style-net", ckpt, "--input", str(photo), "--out", str(out),
                 "--device", "cpu", "--quiet"]) == 0
    assert torch.load(out / "stylised.pt", weights_only=True).shape == (1, 1, 14, 20)
    foreign = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    assert main(["style-net", "apply", "--style-net", str(foreign), "--out", str(out), "--device", "cpu"]) == 2
    assert "not a style-network checkpoint" in capsys.readouterr().err
