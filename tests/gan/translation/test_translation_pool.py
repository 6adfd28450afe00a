"""CycleGAN's image history pool: filling, the ½ swap, seeding, and a state round trip."""
from __future__ import annotations

import pytest
import torch

from robustgan.gan.translation import ImagePool


def batches(k: int, n: int = 4):
    """k batches of n distinct images; image j of batch i is filled with the value 1000·i + j."""
    return [torch.arange(n).float().add(1000 * i).view(n, 1, 1, 1).expand(n, 1, 2, 2).clone() for i in range(k)]


def values(x):
    return x[:, 0, 0, 0].tolist()


def test_fills_then_swaps_about_half():
    pool = ImagePool(8, seed=0)
    data = batches(60)
    for b in data[:2]:  # the first 8 images are stored and returned as they are
        assert torch.equal(pool.query(b), b)
    assert len(pool) == 8
    returned, new = [], []
    for b in data[2:]:
        returned += values(pool.query(b))
        new += values(b)
    swapped = sum(r != v for r, v in zip(returned, new))
    assert 0.35 < swapped / len(new) < 0.65
    seen = set(values(torch.cat(data)))
    assert set(returned) <= seen  # only ever real history, never garbage
    assert all(r <= v for r, v in zip(returned, new))  # a stored image is older than the new one


def test_same_seed_same_draws_and_size_zero_passes_through():
    a, b = ImagePool(5, seed=3), ImagePool(5, seed=3)
    for x in batches(10):
        assert torch.equal(a.query(x), b.query(x))
    x = batches(1)[0]
    assert torch.equal(ImagePool(0).query(x), x)
    with pytest.raises(ValueError, match="size must be an integer"):
        ImagePool(-1)


def test_state_round_trip_is_exact(tmp_path):
    data = batches(12)
    pool = ImagePool(6, seed=1)
    for x in data[:5]:
        pool.query(x)
    torch.save(pool.state_dict(), tmp_path / "pool.pt")
    copy = ImagePool(6, seed=99)
    copy.load_state_dict(torch.load(tmp_path / "pool.pt", weights_only=True))
    assert len(copy) == len(pool)
    for x in data[5:]:
        assert torch.equal(pool.query(x), copy.query(x))
    partial = ImagePool(6, seed=1)
    partial.query(data[0])
    resumed = ImagePool(6)
    resumed.load_state_dict(partial.state_dict())
    assert all(torch.equal(partial.query(x), resumed.query(x)) for x in data[1:])
    with pytest.raises(ValueError, match="does not fit"):
        ImagePool(3).load_state_dict(pool.state_dict())
