"""A readable Markdown report from the JSON one."""
from __future__ import annotations

from typing import Any, Dict, List


def _pct(v: float) -> str:
    return "—" if v != v else f"{100 * v:.1f}%"


def _table(header: List[str], rows: List[List[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def evaluation_markdown(report: Dict[str, Any]) -> str:
    m = report["model"]
    d = report["data"]
    parts = [
        "# Robustness report",
        f"Model `{m['name']}` (weights {m['fingerprint']}), {d['examples']} examples of {d['dataset']} "
        f"({d['source']}), device {report['config']['device']}, seed {report['config']['seed']}.",
        f"**Clean accuracy: {_pct(report['clean_accuracy'])}**",
        "## Robust accuracy under attack",
    ]
    for sweep in report["sweeps"]:
        rows = [[f"{e:g}", _pct(a), str(n)] for e, a, n in zip(sweep["eps"], sweep["robust_accuracy"], sweep["attacked"])]
        parts.append(f"### {sweep['attack']} ({sweep['norm']}, {sweep['description']})")
        parts.append(_table(["ε", "robust accuracy", "points attacked"], rows))
    if report.get("minimal"):
        parts.append("## Minimal adversarial distortion (L2)")
        rows = [[k, _pct(v["success_rate"]), f"{v['median']:.3f}", f"{v.get('p90', float('nan')):.3f}", str(v["examples"])]
                for k, v in report["minimal"].items()]
        parts.append(_table(["attack", "success", "median ‖δ‖₂", "90th pct", "examples"], rows))
    if report.get("per_class"):
        pc = report["per_class"]
        parts.append(f"## Per-class robust accuracy ({pc['attack']}, {pc['norm']}, ε = {pc['eps']:g})")
        rows = [[c, _pct(cl), _pct(r)] for c, cl, r in zip(pc["classes"], pc["clean"], pc["robust"])]
        parts.append(_table(["class", "clean", "robust"], rows))
    parts.append("## Figures")
    for name, path in report["figures"].items():
        parts.append(f"![{name}]({path})")
    parts.append(f"Run time: {report['seconds']:.1f} s.")
    return "\n\n".join(parts) + "\n"
