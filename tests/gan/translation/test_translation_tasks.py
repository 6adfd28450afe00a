"""Translation tasks on real Fashion-MNIST (small n): what each source is, domains, and bad arguments."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from robustgan.data import load_dataset
from robustgan.gan.translation import TASKS, make_task
from robustgan.gan.translation.operators import edge_map

SPLIT = "test"


@pytest.fixture(scope="module")
def fmnist_test():
    ds, _ = load_dataset("fashion-mnist", SPLIT)
    return ds.tensors


def class_of(images, data):
    """The Fashion-MNIST label of each image, found by exact lookup in the split."""
    x, y = data
    flat = x.flatten(1)
    return [int(y[(flat == img.flatten()).all(1)][0]) for img in images]


def test_edges_task(fmnist_test):
    task = make_task("edges", n=12, split=SPLIT, seed=1)
    assert task.kind == "paired" and task.sources.shape == task.targets.shape == (12, 1, 28, 28)
    assert set(task.sources.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(task.sources, edge_map(task.targets))
    assert 0.02 < task.sources.mean() < 0.5  # outlines, not blank and not filled
    assert task.settings["threshold"] == 0.2 and task.settings["seed"] == 1
    canny = make_task("edges", n=4, split=SPLIT, operator="canny", classes=(7,))
    assert class_of(canny.targets, fmnist_test) == [7] * 4


@pytest.mark.parametrize("size", [14, 7])
def test_superres_task(size):
    task = make_task("superres", n=6, split=SPLIT, size=size)
    assert task.sources.shape == (6, 1, size, size) and task.targets.shape == (6, 1, 28, 28)
    k = 28 // size
    block_mean = task.targets.unfold(2, k, k).unfold(3, k, k).mean((-1, -2))
    assert torch.allclose(task.sources, block_mean, atol=1e-6)
    assert torch.allclose(F.avg_pool2d(task.targets, k), task.sources)


def test_unpaired_task_is_two_unaligned_classes(fmnist_test):
    task = make_task("unpaired", n=10, split=SPLIT)
    assert task.kind == "unpaired" and task.names == ("Sneaker", "Ankle boot")
    assert class_of(task.sources, fmnist_test) == [7] * 10
    assert class_of(task.targets, fmnist_test) == [9] * 10
    again = make_task("unpaired", n=10, split=SPLIT, seed=5)
    assert not torch.equal(task.sources, again.sources)  # the seed shuffles


def test_domains_task_labels_follow_the_class_order(fmnist_test):
    task = make_task("domains", n=30, split=SPLIT, classes=(9, 5, 7))
    assert task.names == ("Ankle boot", "Sandal", "Sneaker") and task.num_domains == 3
    classes = class_of(task.sources, fmnist_test)
    assert [(9, 5, 7)[d] for d in task.domains.tolist()] == classes
    assert set(task.domains.tolist()) == {0, 1, 2}


@pytest.mark.parametrize("name, options, message", [
    ("nope", {}, "unknown translation task"),
    ("edges", {"bogus": 1}, "bad options"),
    ("edges", {"n": 0}, "n must be a positive integer"),
    ("edges", {"operator": "laplace"}, "operator must be one of"),
    ("edges", {"threshold": 1.5}, "threshold must lie"),
    ("superres", {"size": 5}, "size must be 14"),
    ("unpaired", {"classes": (7,)}, "exactly 2"),
    ("domains", {"classes": (5, 5)}, "distinct"),
    ("domains", {"classes": (5, 10)}, "class indices"),
])
def test_bad_arguments_are_refused(name, options, message):
    with pytest.raises(ValueError, match=message):
        make_task(name, split=SPLIT, **options)


def test_registry_names():
    assert sorted(TASKS) == ["domains", "edges", "superres", "unpaired"]
