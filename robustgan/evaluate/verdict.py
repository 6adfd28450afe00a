"""One verdict per threat: at each (norm, ε) the lowest robust accuracy any attack reached.

A robust accuracy measured by an attack is an upper bound on the true one, so the report's
headline is the smallest bound over everything that ran — the fixed-ε sweeps, the minimal-norm
envelope read at ε, and the suites — named with the attack that reached it.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Sequence, Tuple

EnvelopeReader = Tuple[Sequence[float], Callable[[float], float]]


def headline(sweeps: List[Dict[str, Any]], suites: List[Dict[str, Any]],
             envelopes: Dict[str, EnvelopeReader]) -> List[Dict[str, Any]]:
    """Rows ``{norm, eps, robust_accuracy, attack, candidates}``, one per (norm, ε) anything measured.

    ``envelopes[norm] = (grid, accuracy_at)``: the envelope is read at its own grid and at every ε
    another attack measured for that norm."""
    found: Dict[tuple, Dict[str, float]] = {}

    def offer(norm: str, eps: float, name: str, acc: float) -> None:
        key = (norm, round(float(eps), 10))
        seen = found.setdefault(key, {})
        seen[name] = min(acc, seen.get(name, float("inf")))

    for s in sweeps:
        for e, a in zip(s["eps"], s["robust_accuracy"]):
            offer(s["norm"], e, s["attack"], a)
    for su in suites:
        offer(su["norm"], su["eps"], f"{su['suite']} suite" + (" (escalated)" if su.get("escalated") else ""),
              su["robust_accuracy"])
    for norm, (own_grid, accuracy_at) in envelopes.items():
        grid = sorted({k[1] for k in found if k[0] == norm} | {float(e) for e in own_grid})
        for e in grid:
            offer(norm, e, "minimal-norm envelope", accuracy_at(e))
    rows = []
    for (norm, eps), seen in sorted(found.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        attack = min(seen, key=lambda k: (seen[k], k))
        rows.append({"norm": norm, "eps": eps, "robust_accuracy": seen[attack], "attack": attack,
                     "candidates": dict(sorted(seen.items()))})
    return rows
