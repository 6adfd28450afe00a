"""The input validator: every bad input fails at the door with a sentence naming what is wrong."""
import math

import pytest
import torch
from torch import nn

from robustgan.validation import (check_batch, check_dtype, check_eps, check_images, check_labels, check_logits,
                                  check_number, check_positive_int, check_step_size, clean_logits, first_line,
                                  run_model)


def test_check_images_accepts_a_valid_batch_unchanged():
    x = torch.rand(2, 1, 4, 4)
    assert check_images(x) is x


@pytest.mark.parametrize("bad, error, words", [
    ([[0.0]], TypeError, "must be a torch.Tensor"),
    (torch.zeros(2, 1, 4, 4, dtype=torch.uint8), TypeError, "float tensor"),
    (torch.zeros(1, 4, 4), ValueError, r"\(N, C, H, W\)"),
    (torch.zeros(0, 1, 4, 4), ValueError, "empty batch"),
    (torch.full((1, 1, 2, 2), float("nan")), ValueError, "finite"),
    (torch.full((1, 1, 2, 2), 255.0), ValueError, r"must lie in \[0, 1\]"),
])
def test_check_images_names_the_problem(bad, error, words):
    with pytest.raises(error, match=words):
        check_images(bad)


def test_check_batch_takes_any_batch_of_two_or_more_dimensions():
    assert check_batch(torch.zeros(3, 8), "latents").shape == (3, 8)
    with pytest.raises(ValueError, match="must be a batch"):
        check_batch(torch.zeros(3), "latents")


def test_check_labels():
    assert check_labels(torch.tensor([0, 9], dtype=torch.int32), 2, 10).dtype == torch.long
    with pytest.raises(TypeError, match="integer class indices"):
        check_labels(torch.tensor([0.0, 1.0]), 2, 10)
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        check_labels(torch.tensor([0, 1, 2]), 2, 10)
    with pytest.raises(ValueError, match=r"\[0, 9\]"):
        check_labels(torch.tensor([0, 10]), 2, 10)


def test_check_eps_and_step_size():
    assert check_eps(0.1, 3) == 0.1
    assert check_eps(torch.tensor([0.1, 0.2]), 2).dtype == torch.float32
    for bad in (-0.1, math.inf, float("nan")):
        with pytest.raises(ValueError):
            check_eps(bad, 1)
    with pytest.raises(TypeError):
        check_eps("0.1", 1)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        check_eps(torch.tensor([0.1, 0.2]), 3)
    with pytest.raises(ValueError, match="must be > 0"):
        check_step_size(0.0, 1, eps=0.1)
    assert check_step_size(0.0, 1, eps=0.0) == 0.0  # nothing may move anyway


def test_check_number_and_positive_int():
    assert check_number(0.5, "decay", at_least=0.0, below=1.0) == 0.5
    with pytest.raises(ValueError, match=r"decay must be finite and < 1"):
        check_number(1.0, "decay", below=1.0)
    with pytest.raises(TypeError):
        check_number(True, "decay")
    assert check_positive_int(3, "steps") == 3
    for bad in (0, 2.0, True):
        with pytest.raises(ValueError, match="integer >= 1"):
            check_positive_int(bad, "steps")


def test_check_dtype_refuses_half_on_cpu_and_mismatched_weights():
    model = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="not supported on CPU"):
        check_dtype(torch.zeros(1, 2, dtype=torch.float16), [model])
    with pytest.raises(TypeError, match="does not match the model's weights"):
        check_dtype(torch.zeros(1, 2, dtype=torch.float64), [model])


def test_model_outputs_are_checked():
    with pytest.raises(TypeError, match="tensor of logits"):
        check_logits((torch.zeros(1, 2),))
    with pytest.raises(ValueError, match=r"\(N, classes\)"):
        check_logits(torch.zeros(2))
    with pytest.raises(ValueError, match="cannot run on images"):
        run_model(nn.Linear(3, 2), torch.zeros(1, 4))
    nan_model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    nn.init.constant_(nan_model[1].weight, float("nan"))
    with pytest.raises(ValueError, match="NaN or infinite logits"):
        clean_logits(nan_model, torch.zeros(1, 1, 2, 2))


def test_first_line_survives_empty_and_multi_line_messages():
    assert first_line(ValueError("")) == "ValueError"
    assert first_line(RuntimeError("one\ntwo")) == "RuntimeError: one"
