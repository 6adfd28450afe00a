"""Shared fixtures: the shipped Fashion-MNIST classifier and real test images."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import Dataset

from robustgan.data import load_dataset, take
from robustgan.gan import GANConfig, train_gan
from robustgan.models import load_classifier
from robustgan.models.default import default_checkpoint_path

# The tests run small batches, where a second intra-op thread mostly waits for the first; on a
# shared or busy machine the spinning threads slow the suite down many times over. One thread
# per process (sub-processes the tests start included) keeps it fast and steady; OMP_NUM_THREADS
# still overrides.
os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


def pytest_addoption(parser):
    parser.addoption("--device", action="append", default=[], metavar="DEVICE",
                     help="also run the device-aware tests (those taking a `device` argument) on DEVICE, "
                          "e.g. cuda; they always run on the CPU, and a device that is absent is skipped")


def _available(device: str) -> bool:
    kind = torch.device(device).type
    if kind == "cuda":
        return torch.cuda.is_available()
    if kind == "mps":
        return torch.backends.mps.is_available()
    return kind == "cpu"


def pytest_generate_tests(metafunc):
    """Device-aware tests run once per device: the CPU, plus each ``--device`` given."""
    if "device" in metafunc.fixturenames:
        devices = ["cpu"] + [d for d in metafunc.config.getoption("--device") if d != "cpu"]
        metafunc.parametrize("device", [
            pytest.param(d, marks=pytest.mark.skipif(not _available(d), reason=f"{d} is not available"))
            for d in devices])


class CrashAfter(Dataset):
    """Raises once ``limit`` items have been read: a run dying in the middle of an epoch."""

    def __init__(self, base: Dataset, limit: int):
        self.base, self.limit, self.reads = base, limit, 0

    def __len__(self):
        return len(self.base)

    def __getitem__(self, i):
        self.reads += 1
        if self.reads > self.limit:
            raise RuntimeError("simulated crash")
        return self.base[i]


def cached_gan(tmp_path_factory, name: str, *, seed: int = 0, conditional: bool = False,
               images: int = 6000, steps: int = 300) -> Path:
    """The checkpoint of a small DCGAN (width 16, latent 32) trained on Fashion-MNIST once per test
    session under the session's tmp dir, so every module that needs it shares one copy."""
    path = tmp_path_factory.getbasetemp() / "gans" / name / "checkpoint.pt"
    if path.exists():
        return path
    try:
        ds, _ = load_dataset("fashion-mnist", "train")
    except FileNotFoundError:
        ds, _ = load_dataset("fashion-mnist", "test")
    x, y = (t[:images] for t in ds.tensors)
    cfg = GANConfig(width=16, latent_dim=32, batch_size=32, seed=seed, conditional=conditional)
    train_gan(x, y, cfg, steps=steps, out_dir=path.parent, progress=False, sample_every=10_000,
              checkpoint_every=10_000)
    return path


@pytest.fixture(scope="session")
def model() -> nn.Module:
    return load_classifier(default_checkpoint_path())


@pytest.fixture(scope="session")
def robust_model(model, tmp_path_factory) -> nn.Module:
    """The shipped CNN fine-tuned with PGD-AT (L∞ ε = 0.1, 5 steps) for two epochs on 4,096
    training images: about 77% clean, robust enough that minimal-norm attacks must work for it.
    Trained once per test session (≈20 s) and cached under the session's tmp dir."""
    import copy

    from torch.utils.data import Subset

    from robustgan.models import checkpoint_meta, save_classifier
    from robustgan.models.default import default_checkpoint_path as shipped
    from robustgan.train import AdversarialConfig, TrainConfig, train_classifier

    path = tmp_path_factory.getbasetemp() / "models" / "pgd-at.pt"
    if not path.exists():
        try:
            train, _ = load_dataset("fashion-mnist", "train")
        except FileNotFoundError:
            train, _ = load_dataset("fashion-mnist", "test")
        net = copy.deepcopy(model)
        cfg = TrainConfig(epochs=2, batch_size=64, seed=0, adversarial=AdversarialConfig("pgd", eps=0.1, steps=5))
        train_classifier(net, Subset(train, range(4096)), cfg, progress=False)
        ckpt = torch.load(shipped(), weights_only=True)
        save_classifier(path, net, ckpt["arch"], ckpt["arch_kwargs"], {"role": "pgd-at test model"})
    return load_classifier(path)


@pytest.fixture(scope="session")
def fmnist():
    ds, _ = load_dataset("fashion-mnist", "test")
    return take(ds, 1000)


@pytest.fixture()
def batch(fmnist):
    x, y = fmnist
    return x[:64].clone(), y[:64].clone()


class TinyBNNet(nn.Module):
    """A small net with BatchNorm and dropout, to catch changes to the caller's model state."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(4 * 28 * 28, 10)

    def forward(self, x):
        return self.fc(self.drop(torch.relu(self.bn(self.conv(x)))).flatten(1))


@pytest.fixture()
def bn_net():
    torch.manual_seed(0)
    net = TinyBNNet()
    net.train()
    with torch.no_grad():  # make the running statistics non-trivial
        for _ in range(3):
            net(torch.rand(8, 1, 28, 28))
    return net
