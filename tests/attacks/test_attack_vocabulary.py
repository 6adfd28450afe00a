"""One argument vocabulary for every attack, the old names' deprecation, and the registry's one call."""
from __future__ import annotations

import inspect
import warnings

import pytest
import torch
from torch import nn

import attacks
from robustgan.evaluate.registry import CATALOGUE, SWEEP_SETTINGS, run, sweep_attack
from robustgan.evaluate.suite import L1_MEMBERS, L1_SUITES, MEMBERS, SUITES
from robustgan.evaluate.survivors import attack_survivors

CLASSES = 5
FIXED_EPS = {n for n, spec in CATALOGUE.items() if spec.kind == "sweep"}
ONE_STEP = {"fgsm"}  # not iterative: no steps, no progress bar
RANDOM = {"pgd", "apgd", "apgd-t", "square", "ddn", "difgsm", "tifgsm", "vmifgsm"}  # the attacks that draw
OLD_NAMES = {"lbfgs": {"max_iter": "steps"}, "cw": {"lr": "step_size"},
             "apgd-t": {"targets": "num_targets"}, "fab-t": {"targets": "num_targets"}}


def tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 12), nn.ReLU(), nn.Linear(12, CLASSES))


@pytest.fixture
def data():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(6, 1, 4, 4, generator=gen)
    return x, tiny_model()(x).argmax(1)


def small(name: str) -> dict:
    """A few model passes per attack, in the common vocabulary."""
    extra = {"apgd-t": {"num_targets": 2}, "fab-t": {"num_targets": 2}, "cw": {"search_rounds": 1},
             "lbfgs": {"search_rounds": 1}, "vmifgsm": {"neighbours": 2}, "tifgsm": {"kernel_size": 3}}
    return dict({} if name in ONE_STEP else {"steps": 3}, **extra.get(name, {}))


def call(name: str, model, x, y, **kwargs):
    """The attack at :func:`small`'s budget, where ``kwargs`` (in any name) overrides it."""
    args = (model, x, y, 0.1) if name in FIXED_EPS else (model, x, y)
    renames = getattr(attacks.ATTACKS[name], "renamed", {})
    given = {renames.get(k, k) for k in kwargs}
    return attacks.ATTACKS[name](*args, **{k: v for k, v in small(name).items() if k not in given}, **kwargs)


def params(name: str):
    return inspect.signature(attacks.ATTACKS[name]).parameters


@pytest.mark.parametrize("name", sorted(attacks.ATTACKS))
def test_every_attack_speaks_the_one_vocabulary(name):
    p = params(name)
    assert not {"max_iter", "lr", "targets", "n_queries", "iterations"} & set(p), name
    if name not in ONE_STEP:
        assert p["steps"].default > 0 and p["progress"].default is False, name
    if "early_stop" in p:
        assert p["early_stop"].default is False, name  # the whole budget unless asked to stop early
    assert ("seed" in p) == (name in RANDOM) == ("generator" in p), name  # no no-op seed on FAB, FMN, …
    if "seed" in p:
        assert p["seed"].default == 0 and p["generator"].default is None, name
    for optional in ("target", "queries"):  # untargeted, and no pass budget, unless given
        if optional in p:
            assert p[optional].default is None, (name, optional)


@pytest.mark.parametrize("name", sorted(attacks.ATTACKS))
def test_every_attack_accepts_its_common_arguments_and_reports_its_cost(name, data):
    x, y = data
    p = params(name)
    common = {k: v for k, v in {"progress": False, "seed": 3, "generator": torch.Generator().manual_seed(3),
                                "early_stop": True, "queries": 50}.items() if k in p}
    if "target" in p:
        common["target"] = (y + 1) % CLASSES
    res = call(name, tiny_model(), x, y, **common)
    assert res.x.shape == x.shape and res.success.shape == (6,)
    assert res.steps is not None and res.forwards is not None and res.backwards is not None, name
    if "queries" in p:
        assert int(res.queries.max()) <= 50, name


@pytest.mark.parametrize("name, old, new, value", [
    (name, old, new, {"steps": 3, "step_size": 0.05, "num_targets": 2}[new])
    for name, renames in OLD_NAMES.items() for old, new in renames.items()])
def test_an_old_name_warns_names_the_new_one_and_gives_the_same_result(name, old, new, value, data):
    x, y = data
    model = tiny_model()
    with pytest.warns(DeprecationWarning, match=f"'{old}' is renamed '{new}'") as caught:
        before = call(name, model, x, y, **{old: value})
    assert caught[0].filename == __file__  # the warning points at the caller's line
    after = call(name, model, x, y, **{new: value})
    assert torch.equal(before.x, after.x) and torch.equal(before.success, after.success)
    with pytest.raises(TypeError, match=f"both '{old}' and '{new}'"):
        call(name, model, x, y, **{old: value, new: value})


def test_the_renamed_attacks_are_exactly_the_listed_ones():
    found = {n: getattr(f, "renamed", {}) for n, f in attacks.ATTACKS.items() if getattr(f, "renamed", {})}
    assert found == OLD_NAMES


def test_the_new_names_raise_no_warning(data):
    x, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        for name in attacks.ATTACKS:
            call(name, tiny_model(), x, y)


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_seed_repeats_none_draws_from_the_global_rng_and_a_generator_wins(name, data):
    x, y = data
    model = tiny_model()
    same = [call(name, model, x, y, seed=7).x for _ in range(2)]
    assert torch.equal(*same)
    torch.manual_seed(1)
    first = call(name, model, x, y, seed=None).x
    torch.manual_seed(1)
    assert torch.equal(first, call(name, model, x, y, seed=None).x)  # the global RNG decides
    ours = call(name, model, x, y, seed=123, generator=torch.Generator().manual_seed(7)).x
    assert torch.equal(ours, same[0])  # the explicit generator wins over the seed


def test_pgd_random_starts_differ_with_the_seed_and_repeat_by_default(data):
    x, y = data
    model = tiny_model()
    a, b = (attacks.pgd(model, x, y, 0.3, steps=0).x for _ in range(2))
    assert torch.equal(a, b)  # seed=0: the same start
    assert not torch.equal(a, attacks.pgd(model, x, y, 0.3, steps=0, seed=1).x)


def test_square_steps_are_its_iterations_and_queries_cap_its_forward_passes(data):
    x, y = data
    model = tiny_model()
    free = attacks.square(model, x, y, 0.01, steps=20)
    assert int(free.forwards.max()) == 21 and int(free.backwards.max()) == 0  # the start, then one a step
    capped = attacks.square(model, x, y, 0.01, steps=20, queries=8)
    assert int(capped.forwards.max()) <= 8 and int(capped.steps.max()) == 7


def test_apgd_spends_its_budget_unless_asked_to_stop_early(data):
    x, y = data
    model = tiny_model()
    full = attacks.apgd(model, x, y, 0.5, steps=10)
    early = attacks.apgd(model, x, y, 0.5, steps=10, early_stop=True)
    assert torch.equal(full.success, early.success)
    assert bool((full.steps == 10).all())
    assert int(early.forwards.sum()) < int(full.forwards.sum())


# ---- the registry's one call ---------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_the_registry_runs_every_attack_with_one_signature(name, data):
    x, y = data
    spec = CATALOGUE[name]
    eps = 0.1 if spec.kind == "sweep" else None
    options = {k: v for k, v in small(name).items() if k != "steps"}
    for norm in spec.norms:
        res = run(name, tiny_model(), x, y, eps, norm=norm, steps=3, seed=1, **options)
        assert res.forwards is not None and res.steps is not None, (name, norm)


def test_the_registry_refuses_a_wrong_call(data):
    x, y = data
    with pytest.raises(TypeError, match="give eps"):
        run("pgd", tiny_model(), x, y, norm="linf")
    with pytest.raises(TypeError, match="takes no eps"):
        run("ddn", tiny_model(), x, y, 0.1, norm="l2")
    with pytest.raises(ValueError, match="l2 attack"):
        run("cw", tiny_model(), x, y, norm="linf")  # cw has no norm argument: refused, not ignored
    with pytest.raises(ValueError, match="unknown attack"):
        run("nope", tiny_model(), x, y, norm="linf")


def test_evaluate_and_the_suites_build_their_attacks_from_data():
    assert set(SWEEP_SETTINGS) == FIXED_EPS
    assert all(name in MEMBERS for line in SUITES.values() for name in line)
    assert all(name in L1_MEMBERS for line in L1_SUITES.values() for name in line)
    assert all(m.attack in CATALOGUE for m in list(MEMBERS.values()) + list(L1_MEMBERS.values()))
    assert MEMBERS["apgd-ce"].fixed["early_stop"] is True  # the suite keeps retiring broken points
    assert SWEEP_SETTINGS["apgd"].options["early_stop"] is True


def test_a_sweep_attack_shares_one_generator_over_its_radii(data):
    x, y = data
    attack, about = sweep_attack("pgd", "linf", 0, 1, seed=4)  # 0 steps: the random start itself
    assert about.startswith("0 steps")
    first, second = attack(tiny_model(), x, y, 0.3), attack(tiny_model(), x, y, 0.3)
    assert not torch.equal(first.x, second.x)  # the second call draws on from the first
    again, _ = sweep_attack("pgd", "linf", 0, 1, seed=4)
    assert torch.equal(again(tiny_model(), x, y, 0.3).x, first.x)


def test_only_the_survivors_are_attacked(data):
    x, y = data
    robust = torch.tensor([True, False, True, True, False, True])
    seen = []

    def attack(model, xb, yb, eps):
        seen.append(len(xb))
        return attacks.pgd(model, xb, yb, eps, steps=3)

    hit = attack_survivors(tiny_model(), x, y, robust, attack, 1.0, batch_size=3)
    assert seen == [3, 1] and hit.attacked == 4
    assert not robust[hit.index].any() and not robust[[1, 4]].any()
    assert hit.x.shape == (len(hit.index), 1, 4, 4) and hit.queries > 0
