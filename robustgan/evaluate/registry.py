"""Which attack of the zoo ``evaluate`` can run, how, and under which norms.

Two kinds: a *sweep* attack is run at fixed radii, ``attack(model, x, y, eps) -> AttackResult``; a
*minimal-norm* attack returns, per point, the smallest distortion it found, ``attack(model, x, y)``,
and one run draws the whole robust-accuracy-vs-ε curve. Every name of :data:`attacks.ATTACKS`
is one of the two.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import torch

import attacks as zoo

NORMS = ("linf", "l2", "l1", "l0")


@dataclass(frozen=True)
class Entry:
    kind: str  # "sweep" or "minimal"
    norms: Tuple[str, ...]


CATALOGUE: Dict[str, Entry] = {
    "fgsm": Entry("sweep", ("linf", "l2")),
    "pgd": Entry("sweep", ("linf", "l2")),
    "mifgsm": Entry("sweep", ("linf",)),
    "difgsm": Entry("sweep", ("linf",)),
    "tifgsm": Entry("sweep", ("linf",)),
    "vmifgsm": Entry("sweep", ("linf",)),
    "apgd": Entry("sweep", ("linf", "l2", "l1")),
    "apgd-t": Entry("sweep", ("linf", "l2", "l1")),
    "fab-t": Entry("sweep", ("linf", "l2")),
    "square": Entry("sweep", ("linf", "l2")),
    "deepfool": Entry("minimal", ("linf", "l2")),
    "fmn": Entry("minimal", ("linf", "l2", "l1", "l0")),
    "ddn": Entry("minimal", ("l2",)),
    "cw": Entry("minimal", ("l2",)),
    "lbfgs": Entry("minimal", ("l2",)),
}
assert set(CATALOGUE) == set(zoo.ATTACKS), "every attack of the zoo has an entry"


def check_attacks(names: List[str]) -> None:
    unknown = [a for a in names if a not in CATALOGUE]
    if unknown:
        raise ValueError(f"unknown attack(s) {unknown}; choose from {sorted(CATALOGUE)}")


def attacks_for(names: List[str], kind: str, norm: str) -> List[str]:
    """The attacks of ``names`` of this kind that support ``norm``, in the order given."""
    return [a for a in names if CATALOGUE[a].kind == kind and norm in CATALOGUE[a].norms]


def sweep_attack(name: str, norm: str, steps: int, restarts: int, seed: int) -> Tuple[Callable, str]:
    """``(attack(model, x, y, eps), description)`` for a fixed-ε attack."""
    gen = torch.Generator().manual_seed(seed)
    if name == "fgsm" and norm == "linf":
        return (lambda m, x, y, e: zoo.fgsm(m, x, y, e)), "one sign step"
    if name == "fgsm":  # the L2 fast gradient method: a single normalised step of length ε
        return (lambda m, x, y, e: zoo.pgd(m, x, y, e, norm=norm, steps=1, step_size=e, random_start=False)), \
            "one normalised-gradient step (FGM)"
    if name == "pgd":
        return (lambda m, x, y, e: zoo.pgd(m, x, y, e, norm=norm, steps=steps, restarts=restarts,
                                           early_stop=True, retire_cycles=True, generator=gen)), \
            f"{steps} steps, step 2.5ε/{steps}, random start, {restarts} restart(s), early exit of fooled and cycling points"
    if name == "mifgsm":
        return (lambda m, x, y, e: zoo.mifgsm(m, x, y, e, steps=steps)), f"{steps} momentum sign steps"
    if name == "difgsm":
        return (lambda m, x, y, e: zoo.difgsm(m, x, y, e, steps=steps, generator=gen)), \
            f"{steps} sign steps through random resize-and-pad"
    if name == "tifgsm":
        return (lambda m, x, y, e: zoo.tifgsm(m, x, y, e, steps=steps, generator=gen)), \
            f"{steps} sign steps on the Gaussian-smoothed gradient, input diversity"
    if name == "vmifgsm":
        return (lambda m, x, y, e: zoo.vmifgsm(m, x, y, e, steps=steps, generator=gen)), \
            f"{steps} variance-tuned momentum sign steps (5 neighbours each)"
    if name in ("apgd", "apgd-t"):
        fn = zoo.apgd if name == "apgd" else zoo.apgd_targeted
        return (lambda m, x, y, e: fn(m, x, y, e, norm=norm, steps=steps, generator=gen)), \
            f"{steps} steps, budget-aware step size"
    if name == "fab-t":
        return (lambda m, x, y, e: zoo.fab_targeted(m, x, y, e, norm=norm, steps=steps)), f"{steps} steps per target"
    if name == "square":
        queries = 50 * steps
        return (lambda m, x, y, e: zoo.square(m, x, y, e, norm=norm, queries=queries, generator=gen)), \
            f"{queries} queries, gradient-free"
    raise ValueError(f"{name!r} is not a fixed-ε attack")


def minimal_attack(name: str, norm: str, queries: Optional[int]) -> Tuple[Callable, str]:
    """``(attack(model, x, y), description)`` for a minimal-norm attack; ``queries`` is the
    per-sample budget of forward + backward passes (None: the attack's own default)."""
    budget = {} if queries is None else {"queries": queries}
    if name == "deepfool":
        return (lambda m, x, y: zoo.deepfool(m, x, y, norm=norm, **budget)), "linearised closest boundary"
    if name == "fmn":
        return (lambda m, x, y: zoo.fmn(m, x, y, norm=norm, **budget)), "adaptive norm constraint"
    if name == "ddn":
        return (lambda m, x, y: zoo.ddn(m, x, y, **budget)), "decoupled direction and norm"
    if name == "cw":
        return (lambda m, x, y: zoo.cw_l2(m, x, y, **budget)), "penalty search, Adam in tanh space"
    if name == "lbfgs":
        return (lambda m, x, y: zoo.lbfgs(m, x, y, **budget)), "penalty search, per-sample L-BFGS"
    raise ValueError(f"{name!r} is not a minimal-norm attack")
