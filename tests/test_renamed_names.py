"""Names that collided now have one meaning each: the old names still work for a release, with a
warning, and each surviving function still covers what every former copy handled."""
from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
import torch
from PIL import Image

from robustgan.features import match_features
from robustgan.gan import DCGANGenerator
from robustgan.gan.data import check_training_data
from robustgan.gan.grid import save_pixel_grid
from robustgan.gan.inversion import LatentInversion, invert
from robustgan.gan.inversion.invert import _starts
from robustgan.objectives import Channel, Unit
from robustgan.optim import stochastic_clip
from robustgan.visualize import FeatureInversion, features_of, layer_features, save_grid

RENAMED = [  # (module, old name, new object)
    ("robustgan.gan.inversion", "InversionResult", LatentInversion),
    ("robustgan.gan.inversion.invert", "InversionResult", LatentInversion),
    ("robustgan.visualize", "InversionResult", FeatureInversion),
    ("robustgan.visualize.inversion", "InversionResult", FeatureInversion),
    ("robustgan.features", "invert_features", match_features),
    ("robustgan.features.recipes", "invert_features", match_features),
    ("robustgan.features", "features_of", layer_features),
    ("robustgan.features.recipes", "features_of", layer_features),
    ("robustgan.gan.grid", "save_grid", save_pixel_grid),
    ("robustgan.gan.data", "check_images", check_training_data),
]


@pytest.mark.parametrize("module, old, new", RENAMED, ids=[f"{m}.{o}" for m, o, _ in RENAMED])
def test_an_old_name_warns_and_is_the_new_object(module, old, new):
    with pytest.warns(DeprecationWarning, match=f"{module}.{old} is deprecated; use .*{new.__name__}"):
        assert getattr(importlib.import_module(module), old) is new


def test_from_import_of_an_old_name_warns_too():
    with pytest.warns(DeprecationWarning, match="LatentInversion"):
        from robustgan.gan.inversion import InversionResult
    assert InversionResult is LatentInversion


def test_an_unknown_name_is_still_an_attribute_error():
    import robustgan.visualize

    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        robustgan.visualize.nothing_here


def test_the_library_never_uses_its_own_old_names():
    code = ("import robustgan.features, robustgan.visualize, robustgan.gan.inversion, robustgan.gan.trainer, "
            "robustgan.gan.inversion.job, robustgan.features.job")
    done = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_old_one_layer_features_of_gives_the_one_layer_of_the_batched_one(model, fmnist):
    x = fmnist[0][:6]
    with pytest.warns(DeprecationWarning):
        from robustgan.features import features_of as old_features_of
    one = old_features_of(model, x, "model.penultimate")
    assert torch.equal(one, features_of(model, x, ["model.penultimate"])["model.penultimate"])
    batched = layer_features(model, x, "model.penultimate", batch_size=4)  # batched reductions: the last bits differ
    assert torch.allclose(one, batched, atol=1e-5)


def test_match_features_reads_the_goal_as_the_loop_reads_features(model, fmnist):
    x = fmnist[0][:600]  # more than one batch of layer_features' default
    _, loss = match_features(model, x, x, steps=0)
    assert bool((loss == 0).all())  # the original itself matches its own features exactly


# --- check_training_data: the image checks of validation.check_images, plus GAN data's own ---------------------

def test_training_data_passes_with_and_without_labels():
    x = torch.rand(4, 1, 8, 8)
    check_training_data(x)
    for dtype in (torch.int64, torch.int32, torch.int16, torch.uint8):
        check_training_data(x, torch.tensor([0, 1, 2, 3], dtype=dtype))


@pytest.mark.parametrize("images, labels, error, words", [
    ([[0.0]], None, TypeError, "torch.Tensor"),
    (torch.zeros(2, 1, 4, 4, dtype=torch.uint8), None, TypeError, "float"),
    (torch.zeros(2, 4, 4), None, ValueError, r"\(N, C, H, W\)"),
    (torch.zeros(2, 1, 4, 6), None, ValueError, "square"),
    (torch.zeros(0, 1, 4, 4), None, ValueError, "empty"),
    (torch.full((2, 1, 4, 4), float("nan")), None, ValueError, "NaN"),
    (torch.full((2, 1, 4, 4), 255.0), None, ValueError, r"\[0, 1\]"),
    (torch.zeros(2, 1, 4, 4), torch.tensor([0, 1, 2]), ValueError, r"labels must have shape \(2,\)"),
    (torch.zeros(2, 1, 4, 4), torch.tensor([0.0, 1.0]), TypeError, "labels must be integers"),
    (torch.zeros(2, 1, 4, 4), torch.tensor([0, -1]), ValueError, "labels must be ≥ 0"),
])
def test_training_data_names_the_problem(images, labels, error, words):
    with pytest.raises(error, match=words):
        check_training_data(images, labels)


def test_inversion_checks_its_images_with_the_shared_validator():
    g = DCGANGenerator(latent_dim=8, width=4)
    with pytest.raises(TypeError, match="float"):
        invert(g, torch.zeros(2, 1, 28, 28, dtype=torch.uint8))
    with pytest.raises(ValueError, match="empty"):
        invert(g, torch.zeros(0, 1, 28, 28))


# --- the two grids: a titled figure (visualize) and pixel-exact tiles (GAN samples) -----------------------------

def test_save_grid_draws_a_batch_and_a_list_of_images_of_any_sizes(tmp_path):
    batch = save_grid(torch.rand(3, 1, 8, 8), tmp_path / "batch.png", titles=["a", "b", "c"])
    mixed = save_grid([torch.rand(3, 8, 8), torch.rand(1, 12, 6)], tmp_path / "list.png", ncols=2, suptitle="s")
    for path in (batch, mixed):
        assert path.stat().st_size > 0 and Image.open(path).size[0] > 0
    with pytest.raises(ValueError, match="no images"):
        save_grid([], tmp_path / "none.png")


def test_save_pixel_grid_tiles_a_batch_pixel_for_pixel(tmp_path):
    path = save_pixel_grid(torch.rand(4, 1, 28, 28), tmp_path / "sub" / "grid.png", nrow=2)
    assert Image.open(path).size == (2 * (84 + 2) + 2,) * 2  # 28 px drawn at 3×, 2 px padding
    exact = save_pixel_grid(torch.rand(2, 3, 5, 5), tmp_path / "exact.png", nrow=2, padding=0, scale=1)
    assert Image.open(exact).size == (10, 5)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        save_pixel_grid(torch.rand(1, 5, 5), tmp_path / "bad.png")


# --- the rest of the folds ----------------------------------------------------------------------------------------

def test_restart_blocks_are_normal_draws_stochastically_clipped():
    gen = torch.Generator().manual_seed(5)
    blocks = []
    for _ in range(3):
        z = torch.randn(4, 6, generator=gen)
        blocks.append(stochastic_clip(z, -1.0, 1.0, gen))
    z0 = _starts(4, 3, 6, 1.0, 5, torch.device("cpu"))
    assert torch.equal(z0, torch.cat(blocks)) and bool((z0.abs() <= 1).all())
    assert torch.equal(_starts(4, 2, 6, 1.0, 5, torch.device("cpu")), z0[:8])  # more restarts extend, never change
    assert torch.equal(_starts(4, 1, 6, None, 5, torch.device("cpu")), torch.randn(4, 6, generator=torch.Generator().manual_seed(5)))


def test_unit_and_channel_share_the_selection_but_keep_their_names():
    feats = torch.arange(24.0).reshape(2, 3, 2, 2)
    samples = torch.tensor([0, 1])
    unit, channel = Unit("l", torch.tensor([1, 5])), Channel("l", 2)
    assert unit.value(feats, samples).tolist() == [1.0, 17.0]
    assert channel.value(feats, samples).tolist() == [9.5, 21.5]
    assert unit.index.tolist() == [1, 5] and channel.channel == 2
    assert (repr(unit), repr(channel)) == ("Unit(l)", "Channel(l)")
    with pytest.raises(ValueError, match="unit index 12 out of range for a layer with 12 units"):
        Unit("l", 12).value(feats, samples)
    with pytest.raises(ValueError, match="channel 3 out of range for a layer with 3 channels"):
        Channel("l", 3).value(feats, samples)
    with pytest.raises(ValueError, match="channel must be a non-negative int"):
        Channel("l", -1)
