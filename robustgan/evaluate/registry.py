"""Which attack of the zoo ``evaluate`` can run, how, and under which norms, behind one call.

Two kinds: a *sweep* attack is run at fixed radii, ``attack(model, x, y, eps) -> AttackResult``; a
*minimal-norm* attack returns, per point, the smallest distortion it found, ``attack(model, x, y)``,
and one run draws the whole robust-accuracy-vs-ε curve. Every name of :data:`attacks.ATTACKS`
is one of the two. Every attack is called the same way, :func:`run` (or its
:class:`AttackSpec`): the common arguments go to the attacks that have them, the rest are the
attack's own options; what ``evaluate`` fixes for each one is data (:data:`SWEEP_SETTINGS`,
:data:`MINIMAL_ABOUT`), not code.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

import torch
from torch import Tensor, nn

import attacks as zoo
from attacks import AttackResult
from robustgan.optim import parse_norm

NORMS = ("linf", "l2", "l1", "l0")


def fast_gradient(model: nn.Module, x: Tensor, y: Tensor, eps: Union[float, Tensor], *, norm: str = "linf",
                  target: Optional[Tensor] = None) -> AttackResult:
    """FGSM in L∞; in L2 the fast gradient method, one normalised-gradient step of length ε (PGD's
    step from the input), so the one name covers both norms."""
    if parse_norm(norm) == float("inf"):
        return zoo.fgsm(model, x, y, eps, target=target)
    return zoo.pgd(model, x, y, eps, norm=norm, steps=1, step_size=eps, random_start=False, target=target)


@dataclass(frozen=True)
class AttackSpec:
    """An attack of the zoo with the call every attack shares::

        spec(model, x, y, eps, *, norm, steps=None, seed=0, generator=None, **options)

    ``eps`` is given to sweep attacks only; ``norm``, ``steps``, ``seed`` and ``generator`` reach
    the attacks that take them (a deterministic attack draws nothing, a one-step attack has no
    step count); ``options`` are the attack's own arguments, passed on as they are."""

    name: str
    kind: str  # "sweep" or "minimal"
    norms: Tuple[str, ...]  # the threat models ``evaluate`` runs it under
    function: Optional[Callable[..., AttackResult]] = None  # default: attacks.ATTACKS[name]

    @property
    def attack(self) -> Callable[..., AttackResult]:
        return self.function or zoo.ATTACKS[self.name]

    def __call__(self, model: nn.Module, x: Tensor, y: Tensor, eps: Union[None, float, Tensor] = None, *,
                 norm: str, steps: Optional[int] = None, seed: Optional[int] = 0,
                 generator: Optional[torch.Generator] = None, **options: Any) -> AttackResult:
        if (eps is None) == (self.kind == "sweep"):
            raise TypeError(f"{self.name} is a {'fixed-ε' if self.kind == 'sweep' else 'minimal-norm'} attack: "
                            + ("give eps" if self.kind == "sweep" else "it takes no eps"))
        accepted = inspect.signature(self.attack).parameters
        if "norm" not in accepted and norm not in self.norms:  # an attack with a norm argument checks it
            raise ValueError(f"{self.name} is an {'/'.join(self.norms)} attack, not {norm!r}")
        common = {"norm": norm, "steps": steps, "seed": seed, "generator": generator}
        kwargs = {k: v for k, v in common.items() if k in accepted and not (k == "steps" and v is None)}
        kwargs.update(options)
        args = (model, x, y) if eps is None else (model, x, y, eps)
        return self.attack(*args, **kwargs)


def _spec(name: str, kind: str, *norms: str, function: Optional[Callable] = None) -> AttackSpec:
    return AttackSpec(name, kind, norms, function)


CATALOGUE: Dict[str, AttackSpec] = {spec.name: spec for spec in (
    _spec("fgsm", "sweep", "linf", "l2", function=fast_gradient),
    _spec("pgd", "sweep", "linf", "l2"),
    _spec("mifgsm", "sweep", "linf"),
    _spec("difgsm", "sweep", "linf"),
    _spec("tifgsm", "sweep", "linf"),
    _spec("vmifgsm", "sweep", "linf"),
    _spec("apgd", "sweep", "linf", "l2", "l1"),
    _spec("apgd-t", "sweep", "linf", "l2", "l1"),
    _spec("fab-t", "sweep", "linf", "l2"),
    _spec("square", "sweep", "linf", "l2"),
    _spec("deepfool", "minimal", "linf", "l2"),
    _spec("fmn", "minimal", "linf", "l2", "l1", "l0"),
    _spec("ddn", "minimal", "l2"),
    _spec("cw", "minimal", "l2"),
    _spec("lbfgs", "minimal", "l2"),
)}
assert set(CATALOGUE) == set(zoo.ATTACKS), "every attack of the zoo has an entry"


def run(name: str, model: nn.Module, x: Tensor, y: Tensor, eps: Union[None, float, Tensor] = None, *,
        norm: str, steps: Optional[int] = None, seed: Optional[int] = 0,
        generator: Optional[torch.Generator] = None, **options: Any) -> AttackResult:
    """Run the attack ``name`` with the one signature of :class:`AttackSpec`."""
    check_attacks([name])
    return CATALOGUE[name](model, x, y, eps, norm=norm, steps=steps, seed=seed, generator=generator, **options)


@dataclass(frozen=True)
class SweepSetting:
    """How ``evaluate`` runs a fixed-ε attack: its fixed ``options``, the iterations per step of
    the evaluation's budget (Square's queries are cheaper than gradient steps), whether it takes
    the evaluation's restarts, and the report's description ({steps}, {restarts} filled in;
    ``about_norm`` replaces it under the norms it names)."""

    about: str
    options: Mapping[str, Any] = field(default_factory=dict)
    steps_per_step: int = 1
    restarts: bool = False
    about_norm: Mapping[str, str] = field(default_factory=dict)


SWEEP_SETTINGS: Dict[str, SweepSetting] = {
    "fgsm": SweepSetting("one sign step", about_norm={"l2": "one normalised-gradient step (FGM)"}),
    "pgd": SweepSetting("{steps} steps, step 2.5ε/{steps}, random start, {restarts} restart(s), early exit of "
                        "fooled and cycling points", {"early_stop": True, "retire_cycles": True}, restarts=True),
    "mifgsm": SweepSetting("{steps} momentum sign steps"),
    "difgsm": SweepSetting("{steps} sign steps through random resize-and-pad"),
    "tifgsm": SweepSetting("{steps} sign steps on the Gaussian-smoothed gradient, input diversity"),
    "vmifgsm": SweepSetting("{steps} variance-tuned momentum sign steps (5 neighbours each)"),
    "apgd": SweepSetting("{steps} steps, budget-aware step size", {"early_stop": True}),
    "apgd-t": SweepSetting("{steps} steps, budget-aware step size"),
    "fab-t": SweepSetting("{steps} steps per target"),
    "square": SweepSetting("{steps} queries, gradient-free", steps_per_step=50),
}
assert set(SWEEP_SETTINGS) == {n for n, s in CATALOGUE.items() if s.kind == "sweep"}

MINIMAL_ABOUT: Dict[str, str] = {
    "deepfool": "linearised closest boundary",
    "fmn": "adaptive norm constraint",
    "ddn": "decoupled direction and norm",
    "cw": "penalty search, Adam in tanh space",
    "lbfgs": "penalty search, per-sample L-BFGS",
}
assert set(MINIMAL_ABOUT) == {n for n, s in CATALOGUE.items() if s.kind == "minimal"}


def check_attacks(names: List[str]) -> None:
    unknown = [a for a in names if a not in CATALOGUE]
    if unknown:
        raise ValueError(f"unknown attack(s) {unknown}; choose from {sorted(CATALOGUE)}")


def attacks_for(names: List[str], kind: str, norm: str) -> List[str]:
    """The attacks of ``names`` of this kind that support ``norm``, in the order given."""
    return [a for a in names if CATALOGUE[a].kind == kind and norm in CATALOGUE[a].norms]


def sweep_attack(name: str, norm: str, steps: int, restarts: int, seed: int) -> Tuple[Callable, str]:
    """``(attack(model, x, y, eps), description)`` for a fixed-ε attack at the evaluation's budget.
    One generator, seeded once, serves every call, so the radii of a sweep draw different starts."""
    if name not in SWEEP_SETTINGS:
        raise ValueError(f"{name!r} is not a fixed-ε attack")
    setting = SWEEP_SETTINGS[name]
    iterations = steps * setting.steps_per_step
    options = dict(setting.options, **({"restarts": restarts} if setting.restarts else {}))
    attack = partial(CATALOGUE[name], norm=norm, steps=iterations, generator=torch.Generator().manual_seed(seed),
                     **options)
    return attack, setting.about_norm.get(norm, setting.about).format(steps=iterations, restarts=restarts)


def minimal_attack(name: str, norm: str, queries: Optional[int]) -> Tuple[Callable, str]:
    """``(attack(model, x, y), description)`` for a minimal-norm attack; ``queries`` is the
    per-sample budget of forward + backward passes (None: the attack's own default)."""
    if name not in MINIMAL_ABOUT:
        raise ValueError(f"{name!r} is not a minimal-norm attack")
    budget = {} if queries is None else {"queries": queries}
    return partial(CATALOGUE[name], norm=norm, **budget), MINIMAL_ABOUT[name]
