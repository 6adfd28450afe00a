"""The torchattacks front: torchattacks' own README snippets run through it unchanged, its attacks
are as strong as torchattacks' on the same model and points, and its modes behave as documented."""
from __future__ import annotations

import copy
import textwrap

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import robustgan.compat.torchattacks as compat


def _points(model, fmnist, n=128):
    x, y = fmnist
    with torch.no_grad():
        ok = model(x).argmax(1) == y
    return x[ok][:n].clone(), y[ok][:n].clone()


def _accuracy(model, x, y):
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def test_torchattacks_readme_snippets_run_unchanged(model, fmnist, tmp_path):
    """The usage lines of torchattacks' README, with ``torchattacks`` bound to the front."""
    images, labels = _points(model, fmnist, 32)
    data_loader = DataLoader(TensorDataset(images, labels), batch_size=16)
    readme = textwrap.dedent('''
        atk = torchattacks.PGD(model, eps=8/255, alpha=2/255, steps=4)
        adv_images = atk(images, labels)
        atk.set_mode_targeted_by_function(target_map_function=lambda images, labels: (labels + 1) % 10)
        targeted_images = atk(images, labels)
        atk.set_mode_targeted_random()
        atk.set_mode_targeted_least_likely(kth_min=1)
        atk.set_mode_targeted_by_label(quiet=True)
        atk.set_mode_default()
        atk.save(data_loader, save_path=save_path, verbose=True)
        atk1 = torchattacks.FGSM(model, eps=8/255)
        atk2 = torchattacks.PGD(model, eps=8/255, alpha=2/255, steps=10, random_start=True)
        atk = torchattacks.MultiAttack([atk1, atk2])
        multi_images = atk(images, labels)
    ''')
    scope = {"torchattacks": compat, "model": model, "images": images, "labels": labels,
             "data_loader": data_loader, "save_path": str(tmp_path / "data.pt")}
    exec(readme, scope)
    for name in ("adv_images", "targeted_images", "multi_images"):
        x_adv = scope[name]
        assert x_adv.shape == images.shape and x_adv.min() >= 0 and x_adv.max() <= 1
        assert (x_adv - images).abs().max() <= 8 / 255 + 1e-6
    saved = torch.load(tmp_path / "data.pt", weights_only=True)
    assert set(saved) == {"adv_inputs", "labels"} and saved["adv_inputs"].shape == images.shape
    assert torch.equal(saved["labels"], labels)


@pytest.mark.parametrize("name,kwargs,budget", [
    ("FGSM", dict(eps=0.05), None),
    ("PGD", dict(eps=0.05, alpha=0.0125, steps=10), "linf"),
    ("PGDL2", dict(eps=1.0, alpha=0.25, steps=10), "l2"),
    ("MIFGSM", dict(eps=0.05, alpha=0.005, steps=10), "linf"),
    ("APGD", dict(eps=0.05, steps=10), "linf"),
    ("Square", dict(eps=0.05, n_queries=200), "linf"),
    ("DeepFool", dict(steps=10), None),
    ("CW", dict(c=1, steps=30), None),
])
def test_as_strong_as_torchattacks_on_the_same_points(model, fmnist, name, kwargs, budget):
    """Robust accuracy under the front's attack is at most torchattacks' with the same arguments, up
    to the noise of different random starts (4 points on these 128 images: the two libraries draw
    their starts differently, so the same seed gives different starts); the images stay in the box
    (and the ball where one is given)."""
    ta = pytest.importorskip("torchattacks")
    x, y = _points(model, fmnist)
    torch.manual_seed(0)
    ours = getattr(compat, name)(model, **kwargs)(x, y)
    torch.manual_seed(0)
    theirs = getattr(ta, name)(copy.deepcopy(model), **kwargs)(x, y)
    assert ours.min() >= 0 and ours.max() <= 1
    if budget == "linf":
        assert (ours - x).abs().flatten(1).amax(1).max() <= kwargs["eps"] + 1e-6
    if budget == "l2":
        assert (ours - x).flatten(1).norm(dim=1).max() <= kwargs["eps"] + 1e-5
    assert _accuracy(model, ours, y) <= _accuracy(model, theirs, y) + 0.04, name


def test_targeted_modes_reach_their_targets(model, fmnist):
    x, y = _points(model, fmnist, 64)
    atk = compat.PGD(model, eps=0.3, alpha=0.02, steps=40)
    atk.set_mode_targeted_by_function(lambda images, labels: (labels + 1) % 10)
    hit = model(atk(x, y)).argmax(1) == (y + 1) % 10
    assert hit.float().mean() >= 0.9
    atk.set_mode_targeted_least_likely(kth_min=1)
    with torch.no_grad():
        least = model(x).argmin(1)
    assert (model(atk(x, y)).argmax(1) == least).float().mean() >= 0.8
    atk.set_mode_targeted_by_label()
    targets = (y + 3) % 10
    assert (model(atk(x, targets)).argmax(1) == targets).float().mean() >= 0.9
    atk.set_mode_targeted_random()
    assert atk.get_target_label(x, y).ne(y).all()
    with pytest.raises(ValueError, match="untargeted"):
        compat.DeepFool(model).set_mode_targeted_random()


def test_normalization_used_attacks_the_normalised_model(model, fmnist):
    """A model that takes normalised inputs plus set_normalization_used gives the same images as
    the shipped model, whose normalisation lives inside it."""
    x, y = _points(model, fmnist, 32)
    inner = model.model
    atk = compat.PGD(inner, eps=0.05, alpha=0.01, steps=5, random_start=False)
    atk.set_normalization_used(mean=model.mean.flatten().tolist(), std=model.std.flatten().tolist())
    same = compat.PGD(model, eps=0.05, alpha=0.01, steps=5, random_start=False)
    assert torch.allclose(atk(x, y), same(x, y), atol=1e-6)


def test_unsupported_settings_are_refused_not_ignored(model):
    with pytest.raises(ValueError, match="eot_iter"):
        compat.APGD(model, eot_iter=2)
    with pytest.raises(ValueError, match="norm"):
        compat.APGD(model, norm="L3")
    with pytest.raises(TypeError, match="nn.Module"):
        compat.PGD(lambda x: x)


def test_the_suite_attacks_keep_their_budget(model, fmnist):
    """APGDT, FAB and AutoAttack: images in the ball and the box, and AutoAttack's line-up leaves
    no more points than APGD alone."""
    x, y = _points(model, fmnist, 16)
    eps = 0.1  # few points survive APGD here, so Square's 5,000 queries run on few
    runs = {"APGDT": compat.APGDT(model, eps=eps, steps=10), "FAB": compat.FAB(model, eps=eps, steps=10),
            "AutoAttack": compat.AutoAttack(model, eps=eps)}
    out = {k: atk(x, y) for k, atk in runs.items()}
    for k, x_adv in out.items():
        assert x_adv.min() >= 0 and x_adv.max() <= 1
        assert (x_adv - x).abs().flatten(1).amax(1).max() <= eps + 1e-6, k
    assert _accuracy(model, out["AutoAttack"], y) <= _accuracy(model, compat.APGD(model, eps=eps, steps=10)(x, y), y)


def test_transfer_attacks_match_torchattacks_and_run_on_grey_images(model, fmnist):
    torchattacks = pytest.importorskip("torchattacks")
    x, y = _points(model, fmnist, 32)
    ours = compat.DIFGSM(model, eps=0.1, alpha=0.02, steps=5, decay=1.0, diversity_prob=0.0)(x, y)
    theirs = torchattacks.DIFGSM(model, eps=0.1, alpha=0.02, steps=5, decay=1.0, diversity_prob=0.0)(x, y)
    assert torch.allclose(ours, theirs, atol=1e-6)
    ti = compat.TIFGSM(model, eps=0.1, alpha=0.02, steps=5)(x, y)  # torchattacks' own needs 3 channels
    vmi = compat.VMIFGSM(model, eps=0.1, alpha=0.02, steps=5, N=2)(x, y)
    for adv in (ti, vmi):
        assert float((adv - x).abs().max()) <= 0.1 + 1e-6 and _accuracy(model, adv, y) < 0.7
    with pytest.raises(ValueError, match="kernel_name"):
        compat.TIFGSM(model, kernel_name="linear")
