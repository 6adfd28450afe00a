"""Attack suites at one ε: each attack runs only on the points every earlier attack left unbroken.

``quick`` is PGD; ``standard`` is the AutoAttack line-up (APGD-CE, APGD-T, FAB-T, Square). The
robust accuracy of a suite is the share of points no attack broke; the per-attack rows say how
many points each one broke that the earlier ones had not.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import torch
from torch import Tensor, nn

import attacks as zoo

from .sweep import predict

SUITES: Dict[str, List[str]] = {
    "quick": ["pgd"],
    "standard": ["apgd-ce", "apgd-t", "fab-t", "square"],
}


@dataclass
class SuiteSettings:
    steps: int = 100  # APGD/FAB iterations (AutoAttack: 100)
    queries: int = 5000  # Square's query budget (AutoAttack: 5000)
    targets: int = 9  # target classes of APGD-T / FAB-T
    pgd_steps: int = 40
    seed: int = 0
    batch_size: int = 500
    progress: bool = False


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
    """``attack(model, x, y, eps) -> AttackResult`` for a suite member."""
    gen = torch.Generator().manual_seed(s.seed)
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
    names = attacks or SUITES.get(suite)
    if names is None:
        raise ValueError(f"unknown suite {suite!r}; choose from {sorted(SUITES)}")
    clean = predict(model, x, s.batch_size) == y
    robust, x_adv = clean.clone(), x.clone()
    result = SuiteResult(suite, norm, float(eps), clean, robust, x_adv)
    for name in names:
        attack = suite_attack(name, norm, s)
        alive = robust.nonzero().squeeze(1)
        t0, broke = time.perf_counter(), 0
        for start in range(0, alive.numel(), s.batch_size):
            part = alive[start:start + s.batch_size]
            res = attack(model, x[part], y[part], eps)
            hit = part[res.success]
            x_adv[hit] = res.x[res.success]
            robust[hit] = False
            broke += int(hit.numel())
        result.rows.append({"attack": name, "attacked": int(alive.numel()), "broken": broke,
                            "robust_accuracy": float(robust.float().mean()),
                            "seconds": time.perf_counter() - t0})
    return result
