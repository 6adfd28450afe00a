"""Post-processing transforms (JPEG, resize, noise) and attribution under them."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from robustgan.gan.postprocess import (JPEG, POSTPROCESSING, GaussianNoise, Resize, Transform,
                                       attribution_under_postprocessing, postprocessing)
from test_translation_provenance import LatentMLP, Upsampler, planted

images_strategy = st.tuples(st.integers(1, 3), st.sampled_from([1, 2, 3]), st.integers(4, 20), st.integers(4, 20),
                            st.integers(0, 2**31 - 1), st.sampled_from([torch.float32, torch.float64]))


def _images(n, c, h, w, seed, dtype=torch.float32):
    return torch.rand(n, c, h, w, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@settings(max_examples=25, deadline=None)
@given(images_strategy)
def test_every_standard_transform_keeps_shape_range_dtype_and_is_deterministic(spec):
    n, c, h, w, seed, dtype = spec
    x = _images(n, c, h, w, seed, dtype)
    for name, t in POSTPROCESSING.items():
        y = t(x)
        assert y.shape == x.shape and y.dtype == x.dtype and y.device == x.device, name
        assert float(y.min()) >= 0 and float(y.max()) <= 1, name
        assert torch.equal(y, t(x)), name  # same input, same bits (the noise from its own seed)
    assert set(POSTPROCESSING) >= {"none", "jpeg95", "jpeg75", "jpeg50", "resize0.5", "noise0.02"}
    assert torch.equal(POSTPROCESSING["none"](x), x)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 3), st.integers(8, 24), st.integers(8, 24), st.integers(0, 2**31 - 1))
def test_jpeg_at_quality_100_is_near_identity_and_50_is_farther(n, h, w, seed):
    x = _images(n, 1, h, w, seed)
    err = {q: float((JPEG(q)(x) - x).abs().mean()) for q in (100, 50)}
    assert err[100] < 0.01 and err[50] > 2 * err[100], err
    eight_bit = (x * 255).round() / 255  # an image already at 8 bits comes back nearly unchanged
    assert float((JPEG(100)(eight_bit) - eight_bit).abs().max()) <= 4 / 255


def test_jpeg_on_colour_images_and_real_images(fmnist):
    real = fmnist[0][:4]
    colour = real.repeat(1, 3, 1, 1)
    errs = [float((JPEG(q)(colour) - colour).abs().mean()) for q in (100, 95, 75, 50)]
    assert errs == sorted(errs) and errs[0] < 0.005, errs
    assert torch.allclose(JPEG(75)(colour)[:, :1], JPEG(75)(real), atol=3 / 255)  # grey in colour = grey
    with pytest.raises(ValueError, match="quality"):
        JPEG(0)
    with pytest.raises(ValueError, match="within|inside|\\[0, 1\\]"):
        JPEG(90)(real + 1)


def test_resize_and_noise(fmnist):
    x = fmnist[0][:3]
    assert torch.allclose(Resize(1.0)(x), x, atol=1e-6)
    assert float((Resize(0.5)(x) - x).abs().mean()) > float((Resize(0.75)(x) - x).abs().mean()) > 0
    flat = torch.full((2, 1, 64, 64), 0.5)
    noise = GaussianNoise(0.02, seed=3)
    assert torch.equal(noise(flat), GaussianNoise(0.02, seed=3)(flat))
    assert not torch.equal(noise(flat), GaussianNoise(0.02, seed=4)(flat))
    assert float((noise(flat) - flat).std()) == pytest.approx(0.02, rel=0.1)
    assert torch.equal(GaussianNoise(0.0)(x), x)
    with pytest.raises(ValueError):
        Resize(1.5)
    with pytest.raises(ValueError):
        GaussianNoise(-0.1)


def test_transforms_by_name():
    assert postprocessing("jpeg80").quality == 80 and postprocessing("jpeg95") is POSTPROCESSING["jpeg95"]
    assert postprocessing("resize0.6").factor == 0.6 and postprocessing("noise0.03").sigma == 0.03
    assert isinstance(postprocessing("none"), Transform)
    with pytest.raises(ValueError, match="unknown post-processing"):
        postprocessing("blur2")


def test_attribution_under_postprocessing(fmnist):
    gens = [Upsampler(0), Upsampler(1), LatentMLP(3)]
    with torch.no_grad():
        latent_made = gens[2](torch.randn(3, 8, generator=torch.Generator().manual_seed(0)))
    by_source = [planted(gens[0], 3, 1)[1], planted(gens[1], 3, 2)[1], latent_made]
    real = fmnist[0][:4]
    rows = attribution_under_postprocessing(gens, by_source, real, fmnist[0][10:26], fpr=0.05,
                                            transforms=["none", "jpeg50", "noise0.05"], restarts=2, steps=100)
    assert [r["transform"] for r in rows] == ["none", "jpeg50", "noise0.05"]
    clean = rows[0]
    assert clean["generated_images"] == 9 and clean["real_images"] == 4
    assert clean["accuracy_generated"] == 1.0 and clean["real_labelled_none"] >= 0.75
    assert len({r["threshold"] for r in rows}) == 1 and clean["calibration_fpr"] <= 0.05  # one clean threshold
    # noise lifts the generated images off their generator's range by about σ² per pixel
    assert rows[2]["median_score_generated"] > 100 * clean["median_score_generated"]
    assert rows[2]["median_score_generated"] == pytest.approx(0.05 ** 2, rel=0.5)
    assert all(r["median_score_real"] > r["threshold"] for r in rows)
    with pytest.raises(ValueError, match="images_by_source"):
        attribution_under_postprocessing(gens, by_source[:2], real, fmnist[0][10:26], steps=1)
