"""Models people have: ONNX (through onnx2torch), safetensors state dicts, RobustBench's folder layout;
and the verdict in RobustBench's JSON fields."""
from __future__ import annotations

import json

import pytest
import torch

from robustgan.cli import main
from robustgan.models import load_model, load_robustbench
from robustgan.models.default import default_checkpoint_path

EVALUATE = ["--attacks", "pgd", "--norms", "linf", "--eps-linf", "0.03,0.1", "-n", "100", "--num-minimal", "0",
            "--no-checks", "--quiet", "--device", "cpu"]


def _verdict(tmp_path, name, *model_args):
    out = tmp_path / name
    assert main(["evaluate", *model_args, *EVALUATE, "--out", str(out)]) in (0, None)
    report = json.loads((out / "report.json").read_text())
    return report["clean_accuracy"], [h["robust_accuracy"] for h in report["headline"]], out


@pytest.fixture(scope="module")
def shipped():
    ckpt = torch.load(default_checkpoint_path(), weights_only=True)
    return ckpt


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return _verdict(tmp_path_factory.mktemp("ref"), "ref")


def test_an_onnx_export_gets_the_same_verdict_as_the_original(model, reference, tmp_path):
    pytest.importorskip("onnx")
    path = tmp_path / "cnn.onnx"
    torch.onnx.export(model, (torch.rand(2, 1, 28, 28),), str(path), dynamo=False, input_names=["x"],
                      output_names=["logits"], dynamic_axes={"x": {0: "n"}, "logits": {0: "n"}})
    net = load_model(path)
    x = torch.rand(5, 1, 28, 28, requires_grad=True)
    assert torch.allclose(net(x), model(x), atol=1e-5)
    net(x).sum().backward()
    assert float(x.grad.abs().sum()) > 0  # gradients flow: every attack works on it
    clean, robust, _ = _verdict(tmp_path, "onnx", "--model", str(path))
    assert clean == reference[0] and robust == pytest.approx(reference[1], abs=0.011)


def test_a_safetensors_state_dict_with_its_architecture(model, shipped, reference, tmp_path):
    from safetensors.torch import save_file

    state = {k: v.contiguous() for k, v in model.model.state_dict().items()}
    save_file(state, str(tmp_path / "cnn.safetensors"))
    mean, std = model.mean.flatten().tolist(), model.std.flatten().tolist()
    clean, robust, _ = _verdict(tmp_path, "st", "--model", str(tmp_path / "cnn.safetensors"), "--arch",
                                "small-cnn", "--mean", ",".join(map(str, mean)), "--std", ",".join(map(str, std)))
    assert clean == reference[0] and robust == reference[1]
    with pytest.raises(ValueError, match="safetensors state dict: name its architecture"):
        load_model(tmp_path / "cnn.safetensors")


def test_robustbench_layout_is_read_in_place_never_downloaded(model, reference, tmp_path):
    folder = tmp_path / "models" / "cifar10" / "Linf"
    folder.mkdir(parents=True)
    # RobustBench's checkpoints: {'state_dict': ...} with DataParallel's 'module.' prefix
    torch.save({"state_dict": {f"module.{k}": v for k, v in model.model.state_dict().items()}}, folder / "Mine.pt")
    mean, std = model.mean.flatten().tolist(), model.std.flatten().tolist()
    clean, robust, out = _verdict(tmp_path, "rb", "--robustbench", "Mine", "--model-dir", str(tmp_path / "models"),
                                  "--arch", "small-cnn", "--mean", ",".join(map(str, mean)),
                                  "--std", ",".join(map(str, std)))
    assert clean == reference[0] and robust == reference[1]
    card = json.loads((out / "robustbench.json").read_text())
    assert card[0]["threat_model"] == "Linf" and card[0]["clean_acc"] == f"{100 * clean:.2f}"
    assert card[0]["eps"] == "0.1" and card[0]["robust_acc"] == f"{100 * robust[-1]:.2f}"
    with pytest.raises(FileNotFoundError, match="never downloads"):
        load_robustbench("Absent", tmp_path / "models")
    try:
        import robustbench  # noqa: F401
    except Exception:
        with pytest.raises(ImportError, match="name the architecture with --arch"):
            load_robustbench("Mine", tmp_path / "models")
