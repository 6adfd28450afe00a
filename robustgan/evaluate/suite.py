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
from typing import Callable, Dict, List, Optional

import torch
from torch import Tensor, nn

import attacks as zoo
from robustgan.optim import parse_norm

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
    queries: int = 5000  # Square's query budget (AutoAttack: 5000)
    targets: int = 9  # target classes of APGD-T / FAB-T
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


def suite_attack(name: str, norm: str, s: SuiteSettings) -> Callable:
    """``attack(model, x, y, eps) -> AttackResult`` for a suite member. In L1 the APGD attacks
    run on L1-APGD's ε schedule with AutoAttack's L1 restarts and targets."""
    gen = torch.Generator().manual_seed(s.seed)
    if parse_norm(norm) == 1 and name in ("apgd-ce", "apgd-t"):
        if name == "apgd-ce":
            return lambda m, x, y, e: zoo.apgd(m, x, y, e, norm=norm, loss="ce", steps=s.steps, restarts=s.l1_restarts,
                                               large_reps=True, generator=gen)
        return lambda m, x, y, e: zoo.apgd_targeted(m, x, y, e, norm=norm, targets=s.l1_targets, steps=s.steps,
                                                    large_reps=True, generator=gen)
    if name == "pgd":
        return lambda m, x, y, e: zoo.pgd(m, x, y, e, norm=norm, steps=s.pgd_steps, early_stop=True, generator=gen)
    if name == "apgd-ce":
        return lambda m, x, y, e: zoo.apgd(m, x, y, e, norm=norm, loss="ce", steps=s.steps, generator=gen)
    if name == "apgd-dlr":
        return lambda m, x, y, e: zoo.apgd(m, x, y, e, norm=norm, loss="dlr", steps=s.steps, generator=gen)
    if name == "apgd-t":
        return lambda m, x, y, e: zoo.apgd_targeted(m, x, y, e, norm=norm, targets=s.targets, steps=s.steps,
                                                    generator=gen)
    if name == "fab-t":
        return lambda m, x, y, e: zoo.fab_targeted(m, x, y, e, norm=norm, targets=s.targets, steps=s.steps)
    if name == "square":
        return lambda m, x, y, e: zoo.square(m, x, y, e, norm=norm, queries=s.queries, generator=gen)
    raise ValueError(f"unknown suite attack {name!r}")


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
        alive = robust.nonzero().squeeze(1)
        t0, broke, spent = time.perf_counter(), 0, 0
        for start in range(0, alive.numel(), s.batch_size):
            part = alive[start:start + s.batch_size]
            res = attack(model, x[part], y[part], eps)
            hit = part[res.success]
            x_adv[hit] = res.x[res.success]
            robust[hit] = False
            broke += int(hit.numel())
            spent += 0 if res.queries is None else int(res.queries.sum())
        result.rows.append({"attack": name, "attacked": int(alive.numel()), "broken": broke,
                            "robust_accuracy": float(robust.float().mean()),
                            "seconds": time.perf_counter() - t0, "queries": spent})
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
