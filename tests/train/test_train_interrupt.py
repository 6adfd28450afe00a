"""Ctrl-C during classifier training: the batch under way finishes, a checkpoint holds the epoch's
position, the run stops with one sentence, and --resume continues bit for bit."""
from __future__ import annotations

import signal

import pytest
import torch
from torch.utils.data import TensorDataset

from robustgan.interrupt import RunInterrupted
from robustgan.models import Normalized, SmallCNN
from robustgan.models.checkpoint import safe_load
from robustgan.train import TrainConfig, train_classifier


def _fresh():
    torch.manual_seed(0)
    return Normalized(SmallCNN(width=8), (0.286,), (0.353,))


def _calls(interrupt_at=None):
    """A batch hook that counts batches and, at ``interrupt_at``, delivers SIGINT in the middle of one."""
    count = {"n": 0}

    def hook(model, x, y):
        count["n"] += 1
        if count["n"] == interrupt_at:
            signal.raise_signal(signal.SIGINT)
        return x
    return hook, count


def _timeless(history):
    return [{k: v for k, v in r.items() if k not in ("seconds", "images_per_s")} for r in history]


@pytest.mark.parametrize("shift", [0, 2])
def test_ctrl_c_mid_epoch_saves_and_resumes_bit_for_bit(fmnist, tmp_path, shift):
    x, y = fmnist
    data = TensorDataset(x[:512], y[:512])
    cfg = TrainConfig(epochs=2, batch_size=64, seed=3, shift=shift)  # 8 batches per epoch
    straight = _fresh()
    hook, _ = _calls()
    whole = train_classifier(straight, data, cfg, checkpoint=tmp_path / "a.pt", perturb=hook, progress=False)

    broken = _fresh()
    hook, count = _calls(interrupt_at=11)  # epoch 2, batch 3
    with pytest.raises(RunInterrupted, match=r"epoch 2 of 2 after batch 3 of 8.*continue with --resume"):
        train_classifier(broken, data, cfg, checkpoint=tmp_path / "b.pt", perturb=hook, progress=False)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    state = safe_load(tmp_path / "b.pt")
    assert state["epoch"] == 1 and state["partial"]["batches"] == 3 and len(state["history"]) == 1

    resumed_model = _fresh()
    hook, count = _calls()
    resumed = train_classifier(resumed_model, data, cfg, checkpoint=tmp_path / "b.pt", resume=True, perturb=hook,
                               progress=False)
    assert count["n"] == 5  # only the epoch's remaining batches were trained
    assert _timeless(resumed.epochs) == _timeless(whole.epochs)
    for a, b in zip(straight.state_dict().values(), resumed_model.state_dict().values()):
        assert torch.equal(a, b)


def test_ctrl_c_without_a_checkpoint_says_it_cannot_continue(fmnist):
    x, y = fmnist
    hook, _ = _calls(interrupt_at=2)
    with pytest.raises(RunInterrupted, match="cannot be continued"):
        train_classifier(_fresh(), TensorDataset(x[:256], y[:256]), TrainConfig(epochs=1, batch_size=64),
                         perturb=hook, progress=False)
