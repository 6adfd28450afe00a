"""The verdict in RobustBench's model-card fields, so a result can be read or submitted as theirs."""
from __future__ import annotations

from typing import Any, Dict, List

THREATS = {"linf": "Linf", "l2": "L2", "l1": "L1", "l0": "L0"}


def robustbench_entries(report: Dict[str, Any]) -> List[Dict[str, Any]]:
    """One entry per threat model: RobustBench's ``clean_acc`` and ``autoattack_acc`` (percent strings,
    as in its JSON files). The radius is the suite's ε when it was evaluated, else the largest one;
    ``autoattack_acc`` only where the standard suite ran at that radius, else ``robust_acc``: the
    lowest robust accuracy any attack reached there."""
    cfg = report["config"]
    suites = {(s["norm"], s["suite"]): s for s in report.get("suites") or []}
    out = []
    for norm in dict.fromkeys(h["norm"] for h in report.get("headline") or []):
        rows = [h for h in report["headline"] if h["norm"] == norm]
        wanted = cfg.get(f"suite_eps_{norm}")
        row = next((h for h in rows if wanted is not None and abs(h["eps"] - wanted) < 1e-9), rows[-1])
        entry = {"name": report["model"]["name"], "dataset": report["data"]["dataset"],
                 "threat_model": THREATS.get(norm, norm), "eps": f"{row['eps']:g}",
                 "clean_acc": f"{100 * report['clean_accuracy']:.2f}", "number_forward_passes": 1,
                 "additional_data": False, "architecture": "", "venue": "", "reported": ""}
        standard = suites.get((norm, "standard"))
        if standard is not None and abs(standard["eps"] - row["eps"]) < 1e-9:
            entry["autoattack_acc"] = f"{100 * min(standard['robust_accuracy'], row['robust_accuracy']):.2f}"
            entry["footnote"] = "robustgan's standard suite (APGD-CE, APGD-T, FAB-T, Square) and every attack that ran"
        else:
            entry["robust_acc"] = f"{100 * row['robust_accuracy']:.2f}"
            entry["footnote"] = (f"robustgan: lowest robust accuracy over {', '.join(row['candidates'])}; "
                                 f"not AutoAttack (run evaluate --suite standard for autoattack_acc)")
        out.append(entry)
    return out
