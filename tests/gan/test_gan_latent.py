"""Latent tools: truncation, spherical interpolation grids, class-mean attribute arithmetic."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from robustgan.gan import DCGANGenerator
from robustgan.gan.latent import (attribute_vector, class_mean_latents, interpolation_grid, slerp, truncate,
                                  truncated_latent, truncated_normal)


def test_truncated_normal_respects_the_threshold_and_the_seed():
    z = truncated_normal((500, 16), 0.5, torch.Generator().manual_seed(0))
    assert z.abs().max() <= 0.5 and z.std() > 0.2
    assert torch.equal(z, truncated_normal((500, 16), 0.5, torch.Generator().manual_seed(0)))
    with pytest.raises(ValueError):
        truncated_normal((2, 2), 0.0)


def test_truncated_latent_keeps_infogan_codes_one_hot():
    g = DCGANGenerator(latent_dim=20, width=4, code_categorical=10, code_continuous=2)
    z = truncated_latent(g, 50, 0.3, torch.Generator().manual_seed(0))
    assert z[:, :8].abs().max() <= 0.3
    assert torch.equal(z[:, 8:18].sum(1), torch.ones(50))


def test_truncate_moves_toward_the_center():
    z = torch.randn(4, 8)
    assert torch.equal(truncate(z, 1.0), z)
    assert torch.allclose(truncate(z, 0.5), z / 2)
    c = torch.ones(8)
    assert torch.allclose(truncate(z, 0.0, c), c.expand(4, 8))
    with pytest.raises(ValueError):
        truncate(z, 1.5)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.floats(0, 1), st.integers(2, 64))
def test_slerp_hits_endpoints_and_stays_on_the_sphere(seed, t, d):
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(d, generator=gen, dtype=torch.float64)
    b = torch.randn(d, generator=gen, dtype=torch.float64)
    b = b * a.norm() / b.norm()  # same radius: the path stays on that sphere
    assert torch.allclose(slerp(a, b, 0.0), a) and torch.allclose(slerp(a, b, 1.0), b)
    assert slerp(a, b, t).norm().item() == pytest.approx(a.norm().item(), rel=1e-9)
    # equal angles for equal steps
    mid = slerp(a, b, 0.5)
    cos = torch.nn.functional.cosine_similarity
    assert cos(a, mid, dim=0).item() == pytest.approx(cos(mid, b, dim=0).item(), abs=1e-9)


def test_slerp_of_parallel_vectors_is_the_straight_line():
    a = torch.tensor([1.0, 2.0])
    assert torch.allclose(slerp(a, 3 * a, 0.5), 2 * a)


def test_interpolation_grid_rows_run_from_start_to_end():
    starts, ends = torch.randn(3, 5), torch.randn(3, 5)
    grid = interpolation_grid(starts, ends, steps=4)
    assert grid.shape == (12, 5)
    rows = grid.view(3, 4, 5)
    assert torch.allclose(rows[:, 0], starts, atol=1e-6) and torch.allclose(rows[:, -1], ends, atol=1e-6)
    lerp = interpolation_grid(starts, ends, steps=3, method="lerp").view(3, 3, 5)
    assert torch.allclose(lerp[:, 1], (starts + ends) / 2)
    with pytest.raises(ValueError):
        interpolation_grid(starts, ends, steps=1)


class SignClassifier(nn.Module):
    """Class 1 when the image is bright on average, else 0; a BatchNorm to check its state is kept."""

    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm1d(1)
        self.w = nn.Parameter(torch.ones(1))

    def forward(self, x):
        m = x.flatten(1).mean(1, keepdim=True) - 0.5
        return torch.cat([-m, m], 1) * self.w + 0 * self.bn(m)


class LinearGenerator(nn.Module):
    """Brightness = σ(z₀): class 1 exactly when the first latent entry is positive."""

    latent_dim, num_classes = 4, 0

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))

    def sample_latent(self, n, generator=None, device=None):
        return torch.randn(n, self.latent_dim, generator=generator)

    def forward(self, z, y=None):
        return torch.sigmoid(self.scale * z[:, :1])[:, :, None, None].expand(-1, 1, 4, 4)


def test_class_mean_latents_average_the_latents_of_each_predicted_class():
    g, clf = LinearGenerator().train(), SignClassifier().train()
    means, counts = class_mean_latents(g, clf, n=4000, generator=torch.Generator().manual_seed(0), batch_size=1000)
    assert g.training and clf.training and g.scale.requires_grad  # state handed back
    assert counts.sum() == 4000 and abs(int(counts[0]) - 2000) < 200
    assert means[1, 0] > 0.7 and means[0, 0] < -0.7      # E[z₀ | z₀ > 0] = √(2/π) ≈ 0.80
    assert means[:, 1:].abs().max() < 0.1                # other entries carry no class
    v = attribute_vector(means, 1, 0, 0)
    assert torch.allclose(v, means[1])
    with pytest.raises(ValueError, match="out of range"):
        attribute_vector(means, 2, 0, 1)
    empty = torch.cat([means, torch.full((1, 4), float("nan"))])
    with pytest.raises(ValueError, match="no samples"):
        attribute_vector(empty, 2, 0, 1)


def test_class_means_refuse_a_conditional_generator():
    g = DCGANGenerator(latent_dim=8, width=4, num_classes=10)
    with pytest.raises(ValueError, match="unconditional"):
        class_mean_latents(g, SignClassifier(), n=10)
