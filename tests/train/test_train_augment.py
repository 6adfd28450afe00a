"""Shift augmentation of the trainer: every image translated by its own offset, zero fill, bit-exact resume."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.data import Subset

from conftest import CrashAfter
from robustgan.cli import main
from robustgan.data import load_dataset
from robustgan.models import Normalized, SmallCNN
from robustgan.train import TrainConfig, train_classifier
from robustgan.train.augment import random_shift


def _translated(img: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Oracle: out[i, j] = img[i - dy, j - dx] where that pixel exists, else 0."""
    out = torch.zeros_like(img)
    h, w = img.shape[-2:]
    for i in range(h):
        for j in range(w):
            if 0 <= i - dy < h and 0 <= j - dx < w:
                out[..., i, j] = img[..., i - dy, j - dx]
    return out


@settings(max_examples=25, deadline=None)
@given(pixels=st.integers(0, 3), b=st.integers(1, 6), c=st.integers(1, 3), h=st.integers(4, 9), w=st.integers(4, 9),
       seed=st.integers(0, 2 ** 31 - 1))
def test_each_image_is_its_input_translated_within_the_limit_with_zero_fill(pixels, b, c, h, w, seed):
    x = torch.rand(b, c, h, w, generator=torch.Generator().manual_seed(seed)) + 0.1  # no zeros of its own
    out = random_shift(x, pixels, torch.Generator().manual_seed(seed))
    assert out.shape == x.shape and out.dtype == x.dtype
    for k in range(b):
        matches = [(dy, dx) for dy in range(-pixels, pixels + 1) for dx in range(-pixels, pixels + 1)
                   if torch.equal(out[k], _translated(x[k], dy, dx))]
        assert matches, f"image {k} is no translation of its input by at most {pixels} px"


def test_offsets_differ_between_images_and_follow_the_generator():
    x = torch.rand(64, 1, 8, 8) + 0.1
    a = random_shift(x, 2, torch.Generator().manual_seed(5))
    assert torch.equal(a, random_shift(x, 2, torch.Generator().manual_seed(5)))
    zero_rows = (a == 0).all(dim=-1).sum(dim=(1, 2))  # rows emptied by a vertical shift, per image
    assert len(set(zero_rows.tolist())) > 1  # not one offset for the whole batch
    assert torch.equal(random_shift(x, 0, torch.Generator()), x)


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_bad_shift_is_refused(bad):
    with pytest.raises(ValueError, match="shift must be|pixels must be"):
        TrainConfig(shift=bad)
    with pytest.raises(ValueError, match="pixels must be"):
        random_shift(torch.rand(2, 1, 4, 4), bad, torch.Generator())
    with pytest.raises(ValueError, match="expected a \\(B, C, H, W\\)"):
        random_shift(torch.rand(1, 4, 4), 1, torch.Generator())


def _fresh(seed: int = 3) -> nn.Module:
    torch.manual_seed(seed)
    return Normalized(SmallCNN(width=8), (0.286,), (0.353,))


def test_shifted_training_differs_from_plain_and_resumes_bit_for_bit(tmp_path):
    train, _ = load_dataset("fashion-mnist", "train")
    small = Subset(train, range(192))
    cfg = TrainConfig(epochs=3, batch_size=64, seed=7, shift=2)
    straight, plain = _fresh(), _fresh()
    train_classifier(straight, small, cfg, progress=False)
    train_classifier(plain, small, TrainConfig(epochs=3, batch_size=64, seed=7), progress=False)
    assert any(not torch.equal(a, b) for a, b in zip(straight.state_dict().values(), plain.state_dict().values()))
    ckpt = tmp_path / "run.train.pt"
    with pytest.raises(RuntimeError, match="simulated crash"):
        train_classifier(_fresh(), CrashAfter(small, 192 + 64), cfg, checkpoint=ckpt, progress=False)
    resumed = _fresh(seed=99)
    train_classifier(resumed, small, cfg, checkpoint=ckpt, resume=True, progress=False)
    for (k, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k
    with pytest.raises(ValueError, match="different settings.*shift"):  # a checkpoint without the shift
        train_classifier(_fresh(), small, TrainConfig(epochs=4, batch_size=64, seed=7), checkpoint=ckpt,
                         resume=True, progress=False)


def test_cli_refuses_a_negative_shift(tmp_path, capsys):
    assert main(["train", "--shift", "-1", "--out", str(tmp_path / "m")]) == 2
    assert "shift must be" in capsys.readouterr().err
