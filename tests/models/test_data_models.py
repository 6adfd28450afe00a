"""Data loading and checkpoints: real files, the embedded sample, clear errors."""
from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch

from robustgan.data import embedded_sample, fashion_mnist, load_dataset, read_idx
from robustgan.models import Normalized, SmallCNN, load_classifier, save_classifier, tapped
from robustgan.models.default import default_checkpoint_path


def test_idx_roundtrip_and_truncation(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    header = bytes([0, 0, 0x08, 3]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    path = tmp_path / "a-idx3-ubyte.gz"
    with gzip.open(path, "wb") as f:
        f.write(header + arr.tobytes())
    assert np.array_equal(read_idx(path), arr)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.tobytes()[:-3])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(path)


def test_embedded_sample_is_real_fashion_mnist():
    x, y = embedded_sample().tensors
    assert x.shape == (1000, 1, 28, 28) and x.dtype == torch.float32
    assert 0 <= float(x.min()) and float(x.max()) <= 1
    assert torch.bincount(y, minlength=10).tolist() == [100] * 10
    full = fashion_mnist("test")
    if len(full) == 10000:  # the sample is a subset of the real test set
        idx = np.load(__import__("importlib").resources.files("robustgan.data.embedded")
                      .joinpath("fashion-mnist-test-sample.npz").open("rb"))["test_indices"]
        assert torch.equal(full.tensors[0][torch.from_numpy(idx.astype(np.int64))], x)


def test_missing_data_says_how_to_get_it(tmp_path, monkeypatch):
    import robustgan.data.fmnist as fm

    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "nowhere")
    monkeypatch.delenv("ROBUSTGAN_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        fashion_mnist("train")
    assert len(fashion_mnist("test")) == 1000  # falls back to the shipped sample
    with pytest.raises(FileNotFoundError, match="holds no Fashion-MNIST test files"):
        fashion_mnist("test", root=tmp_path)  # a folder that is given must hold the data
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("mnist-ish")


def test_checkpoint_roundtrip_and_errors(tmp_path):
    torch.manual_seed(0)
    model = Normalized(SmallCNN(), (0.5,), (0.25,))
    path = tmp_path / "m.pt"
    save_classifier(path, model, "small-cnn", {}, {"note": "x"})
    again = load_classifier(path)
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(model.eval()(x), again(x))
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        load_classifier(tmp_path / "missing.pt")
    (tmp_path / "bad.pt").write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="corrupt"):
        load_classifier(tmp_path / "bad.pt")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a robustgan classifier"):
        load_classifier(tmp_path / "other.pt")


def test_default_model_is_accurate(model, fmnist):
    x, y = fmnist
    with torch.no_grad():
        acc = float((model(x).argmax(1) == y).float().mean())
    assert acc >= 0.9
    assert default_checkpoint_path().stat().st_size < 3_000_000


def test_feature_taps_are_removed_and_name_errors_list_layers(model):
    x = torch.rand(2, 1, 28, 28)
    with tapped(model, ["model.penultimate"]) as feats:
        model(x)
    assert feats["model.penultimate"].shape == (2, 128)
    assert all(len(m._forward_hooks) == 0 for m in model.modules())
    with pytest.raises(ValueError, match="model.features"):
        with tapped(model, ["nope"]):
            pass


def test_timm_models_build_offline():
    pytest.importorskip("timm")
    from robustgan.models import build_model

    net = build_model("timm:resnet18", in_channels=1, num_classes=10)
    assert net(torch.rand(2, 1, 32, 32)).shape == (2, 10)
