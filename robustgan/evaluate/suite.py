"""Attack suites at one ε: each attack runs only on the points every earlier attack left unbroken.

``quick`` is PGD; ``standard`` is the AutoAttack line-up (APGD-CE, APGD-T, FAB-T, Square). The
robust accuracy of a suite is the share of points no attack broke; the per-attack rows say how
many points each one broke that the earlier ones had not.

The L1 threat model has its own line-ups (:data:`L1_SUITES`), after AutoAttack's L1 version
(Croce & Hein 2021): APGD-CE with 5 restarts and APGD-T toward 5 classes, both on the 3ε → 2ε → ε
schedule of L1-APGD, then FAB-T in L1. AutoAttack also runs an L1 adaptation of Square; this
library's Square searches L∞ and L2 balls only, so the L1 line-up stops at FAB-T. ``quick`` is
APGD-CE alone, as PGD has no L1 steepest-descent step.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Dict, List, Mapping, Optional

import torch
from torch import Tensor, nn

from robustgan.optim import parse_norm

from .registry import CATALOGUE
from .survivors import attack_survivors
from .sweep import predict

SUITES: Dict[str, List[str]] = {
    "quick": ["pgd"],
    "standard": ["apgd-ce", "apgd-t", "fab-t", "square"],
}
L1_SUITES: Dict[str, List[str]] = {
    "quick": ["apgd-ce"],
    "standard": ["apgd-ce", "apgd-t", "fab-t"],
}


def line_up(suite: str, norm: str) -> Optional[List[str]]:
    """The attacks a named suite runs for a threat model (None for an unknown suite)."""
    return (L1_SUITES if parse_norm(norm) == 1 else SUITES).get(suite)


@dataclass
class SuiteSettings:
    steps: int = 100  # APGD/FAB iterations (AutoAttack: 100)
    queries: int = 5000  # Square's iterations, one query each (AutoAttack: 5000)
    targets: int = 9  # target classes of APGD-T / FAB-T (their ``num_targets``)
    pgd_steps: int = 40
    seed: int = 0
    batch_size: int = 500
    progress: bool = False
    l1_restarts: int = 5  # APGD-CE restarts of the L1 line-up (AutoAttack: 5)
    l1_targets: int = 5  # APGD-T target classes of the L1 line-up (AutoAttack: 5; FAB-T keeps ``targets``)


@dataclass
class SuiteResult:
    suite: str
    norm: str
    eps: float
    clean: Tensor
    robust: Tensor
    x_adv: Tensor
    rows: List[Dict] = field(default_factory=list)

    @property
    def robust_accuracy(self) -> float:
        return float(self.robust.float().mean())


@dataclass(frozen=True)
class Member:
    """A suite member as data: the registry's attack, the :class:`SuiteSettings` field giving its
    iterations, the options the suite always sets, and the options read from other fields."""

    attack: str
    budget: str = "steps"
    fixed: Mapping[str, Any] = field(default_factory=dict)
    from_settings: Mapping[str, str] = field(default_factory=dict)  # attack option -> settings field


MEMBERS: Dict[str, Member] = {
    "pgd": Member("pgd", "pgd_steps", {"early_stop": True}),
    "apgd-ce": Member("apgd", fixed={"loss": "ce", "early_stop": True}),
    "apgd-dlr": Member("apgd", fixed={"loss": "dlr", "early_stop": True}),
    "apgd-t": Member("apgd-t", from_settings={"num_targets": "targets"}),
    "fab-t": Member("fab-t", from_settings={"num_targets": "targets"}),
    "square": Member("square", "queries"),
}
# In L1 the APGD attacks run on L1-APGD's ε schedule with AutoAttack's L1 restarts and targets.
L1_MEMBERS: Dict[str, Member] = dict(MEMBERS, **{
    "apgd-ce": Member("apgd", fixed={"loss": "ce", "early_stop": True, "large_reps": True},
                      from_settings={"restarts": "l1_restarts"}),
    "apgd-t": Member("apgd-t", fixed={"large_reps": True}, from_settings={"num_targets": "l1_targets"}),
})


def suite_attack(name: str, norm: str, s: SuiteSettings) -> Callable:
    """``attack(model, x, y, eps) -> AttackResult`` for a suite member, through the registry's one
    call; one generator seeded with ``s.seed`` serves all its batches."""
    members = L1_MEMBERS if parse_norm(norm) == 1 else MEMBERS
    if name not in members:
        raise ValueError(f"unknown suite attack {name!r}")
    m = members[name]
    options = dict(m.fixed, **{option: getattr(s, setting) for option, setting in m.from_settings.items()})
    return partial(CATALOGUE[m.attack], norm=norm, steps=getattr(s, m.budget),
                   generator=torch.Generator().manual_seed(s.seed), **options)


def run_suite(model: nn.Module, x: Tensor, y: Tensor, eps: float, norm: str = "linf", suite: str = "standard",
              settings: Optional[SuiteSettings] = None, attacks: Optional[List[str]] = None) -> SuiteResult:
    """Run the suite's attacks in order on the survivors; returns per-point robustness and images."""
    s = settings or SuiteSettings()
    names = attacks or line_up(suite, norm)
    if names is None:
        raise ValueError(f"unknown suite {suite!r}; choose from {sorted(SUITES)}")
    clean = predict(model, x, s.batch_size) == y
    robust, x_adv = clean.clone(), x.clone()
    result = SuiteResult(suite, norm, float(eps), clean, robust, x_adv)
    for name in names:
        attack = suite_attack(name, norm, s)
        t0 = time.perf_counter()
        hit = attack_survivors(model, x, y, robust, attack, eps, s.batch_size)
        x_adv[hit.index] = hit.x
        result.rows.append({"attack": name, "attacked": hit.attacked, "broken": int(hit.index.numel()),
                            "robust_accuracy": float(robust.float().mean()),
                            "seconds": time.perf_counter() - t0, "queries": hit.queries})
    return result


def merge_suites(parts: List[SuiteResult]) -> SuiteResult:
    """One result from the suite run slice by slice (each slice attacked on its own survivors)."""
    first = parts[0]
    clean = torch.cat([p.clean for p in parts])
    robust = torch.cat([p.robust for p in parts])
    merged = SuiteResult(first.suite, first.norm, first.eps, clean, robust, torch.cat([p.x_adv for p in parts]))
    n = float(len(clean))
    for k, row in enumerate(first.rows):
        rows = [p.rows[k] for p in parts]
        merged.rows.append({
            "attack": row["attack"],
            "attacked": sum(r["attacked"] for r in rows), "broken": sum(r["broken"] for r in rows),
            "robust_accuracy": sum(r["robust_accuracy"] * len(p.clean) for r, p in zip(rows, parts)) / n,
            "seconds": sum(r["seconds"] for r in rows), "queries": sum(r["queries"] for r in rows),
        })
    return merged
