"""Offline GAN metrics: Fréchet and kernel distances, precision/recall, class counts, Inception FID plumbing."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.linalg
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from robustgan.gan.metrics import (FeatureExtractor, class_counts, class_histogram, evaluate_samples,
                                   frechet_distance, inception_fid, kernel_distance, mmd2_unbiased, precision_recall)


def scipy_fid(f1: torch.Tensor, f2: torch.Tensor) -> float:
    """The textbook formula with scipy's matrix square root (the pytorch-fid recipe)."""
    a, b = f1.double().numpy(), f2.double().numpy()
    mu1, mu2, s1, s2 = a.mean(0), b.mean(0), np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


@pytest.mark.parametrize("n1,n2,d", [(400, 300, 6), (9, 12, 40)])  # d×d path, and fewer samples than dims
def test_frechet_distance_matches_the_scipy_recipe(n1, n2, d):
    gen = torch.Generator().manual_seed(0)
    f1 = torch.randn(n1, d, generator=gen) @ torch.randn(d, d, generator=gen)
    f2 = torch.randn(n2, d, generator=gen) * 2 + 1
    assert frechet_distance(f1, f2) == pytest.approx(scipy_fid(f1, f2), rel=1e-6)


def test_frechet_distance_of_shifted_gaussians_is_the_squared_shift():
    gen = torch.Generator().manual_seed(1)
    f = torch.randn(500, 4, generator=gen, dtype=torch.float64)
    shift = torch.tensor([3.0, 0.0, -4.0, 0.0], dtype=torch.float64)
    assert frechet_distance(f, f + shift) == pytest.approx(25.0, rel=1e-9)  # same covariance exactly


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.integers(5, 40), st.integers(1, 5))
def test_frechet_distance_is_symmetric_nonnegative_and_zero_on_itself(seed, n, d):
    gen = torch.Generator().manual_seed(seed)
    a, b = torch.randn(n, d, generator=gen), torch.randn(n + 3, d, generator=gen) + 0.5
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-6, abs=1e-8)
    assert frechet_distance(a, b) >= 0
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_mmd_matches_a_naive_unbiased_estimator():
    gen = torch.Generator().manual_seed(2)
    x, y = torch.randn(7, 3, generator=gen, dtype=torch.float64), torch.randn(5, 3, generator=gen, dtype=torch.float64) + 1

    def k(a, b):
        return (float(a @ b) / 3 + 1) ** 3

    xx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(7), 2)) / (7 * 6)
    yy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(5), 2)) / (5 * 4)
    xy = sum(k(x[i], y[j]) for i in range(7) for j in range(5)) / (7 * 5)
    assert mmd2_unbiased(x, y) == pytest.approx(xx + yy - 2 * xy, rel=1e-10)


def test_kernel_distance_is_unbiased_near_zero_for_one_distribution_and_positive_apart():
    gen = torch.Generator().manual_seed(3)
    a, b = torch.randn(600, 8, generator=gen), torch.randn(600, 8, generator=gen)
    same, same_std = kernel_distance(a, b, subsets=20, subset_size=300)
    apart, _ = kernel_distance(a, b + 1.0, subsets=20, subset_size=300)
    assert abs(same) < 3 * same_std + 1e-3  # unbiased: centred on 0, can be negative
    assert apart > 20 * max(abs(same), same_std)


def test_precision_and_recall_detect_fidelity_and_mode_collapse():
    gen = torch.Generator().manual_seed(4)
    real = torch.randn(400, 2, generator=gen)
    p, r = precision_recall(real, real.clone())
    assert p == 1.0 and r == 1.0
    p, r = precision_recall(real, torch.randn(400, 2, generator=gen) + 50)
    assert p == 0.0 and r == 0.0
    # a generator that only covers one small region: high precision, low recall
    collapsed = real[real[:, 0] > 1.0][:60]
    collapsed = collapsed + 0.01 * torch.randn(collapsed.shape, generator=gen)
    p, r = precision_recall(real, collapsed)
    assert p > 0.9 and r < 0.4


def test_bad_feature_sets_are_rejected():
    with pytest.raises(ValueError, match="2-D"):
        frechet_distance(torch.zeros(5), torch.zeros(5, 2))
    with pytest.raises(ValueError, match="dimensions differ"):
        frechet_distance(torch.randn(5, 2), torch.randn(5, 3))
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(torch.full((5, 2), float("nan")), torch.randn(5, 2))
    with pytest.raises(ValueError, match="at least"):
        precision_recall(torch.randn(3, 2), torch.randn(10, 2), k=3)


def test_class_counts_see_mode_collapse_and_keep_the_classifier_state(model, fmnist):
    x, y = fmnist
    model.train()
    flags = [p.requires_grad for p in model.parameters()]
    try:
        diverse = class_counts(model, x[:500])
        collapsed = class_counts(model, x[y == 3][:100])
        assert model.training and flags == [p.requires_grad for p in model.parameters()]
    finally:
        model.eval()
    assert sum(diverse["counts"]) == 500 and diverse["classes_present"] == 10
    assert diverse["entropy"] > 0.9 * diverse["max_entropy"]
    assert collapsed["largest_share"] > 0.7 and collapsed["entropy"] < 0.5 * diverse["entropy"]
    assert class_histogram(torch.eye(3)[[0, 0, 0]])["entropy"] == 0.0


def test_fid_local_ranks_real_images_above_noise(fmnist):
    x, _ = fmnist
    extractor = FeatureExtractor.default()
    real_vs_real = evaluate_samples(x[:500], x[500:1000], extractor, kid_subsets=10, kid_subset_size=200)
    noise = torch.rand(500, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    real_vs_noise = evaluate_samples(x[:500], noise, extractor, kid_subsets=10, kid_subset_size=200)
    assert real_vs_real["fid_local"] * 10 < real_vs_noise["fid_local"]
    assert real_vs_real["kid_local"] * 10 < real_vs_noise["kid_local"]
    assert real_vs_real["precision"] > 0.5 and real_vs_real["recall"] > 0.5
    assert real_vs_noise["precision"] < 0.05
    with pytest.raises(ValueError, match="cannot take images"):
        extractor(torch.rand(2, 3, 32, 32))


def test_inception_fid_fails_clearly_without_weights(tmp_path, fmnist):
    x, _ = fmnist
    try:
        import torch_fidelity  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="torch-fidelity"):
            inception_fid(x[:4], x[4:8], tmp_path / "none.pth")
        return
    with pytest.raises(FileNotFoundError, match="never downloads"):
        inception_fid(x[:4], x[4:8], tmp_path / "none.pth")
    (tmp_path / "bad.pth").write_bytes(b"junk")
    with pytest.raises(ValueError, match="plain tensors"):
        inception_fid(x[:4], x[4:8], tmp_path / "bad.pth")


def test_inception_fid_runs_torch_fidelity_offline_with_local_weights(tmp_path, fmnist, monkeypatch):
    """The plumbing, with randomly initialised Inception weights standing in for the real file."""
    fe = pytest.importorskip("torch_fidelity.feature_extractor_inceptionv3")
    empty = tmp_path / "empty.pth"
    torch.save({}, empty)
    with monkeypatch.context() as m:  # build the network from a local (empty) file to get its keys
        m.setattr(fe.FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd, *a, **k: None)
        torch.manual_seed(0)
        net = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(empty))
    path = tmp_path / "inception.pth"
    torch.save(net.state_dict(), path)  # PyTorch's default random initialisation
    x, _ = fmnist
    same = inception_fid(x[:5], x[5:10], path)
    noise = inception_fid(x[:5], torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(0)), path)
    assert np.isfinite(same) and np.isfinite(noise) and noise > same
