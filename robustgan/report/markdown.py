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
    if report.get("suites"):
        parts.append("## Attack suites (each attack runs on the points the earlier ones left unbroken)")
        for su in report["suites"]:
            parts.append(f"### {su['suite']} suite, {su['norm']}, ε = {su['eps']:g}: "
                         f"robust accuracy **{_pct(su['robust_accuracy'])}**")
            rows = [[r["attack"], str(r["attacked"]), str(r["broken"]), _pct(r["robust_accuracy"]), f"{r['seconds']:.1f}"]
                    for r in su["attacks"]]
            parts.append(_table(["attack", "points attacked", "broken", "robust accuracy after", "seconds"], rows))
    if report.get("checks"):
        bad = [c for c in report["checks"] if not c["passed"]]
        parts.append("## Self-checks")
        parts.append("All checks passed." if not bad else
                     f"**{len(bad)} check(s) failed: the robust accuracies above may be overestimates.**")
        rows = [["✅" if c["passed"] else "❌ FAILED", c["name"], c.get("norm") or "model", c["detail"]]
                for c in report["checks"]]
        parts.append(_table(["", "check", "threat model", "measured"], rows))
        for c in bad:
            parts.append(f"- **{c['name']}** ({c.get('norm') or 'model'}): {c['explanation']}")
    if report.get("seeds"):
        parts.append(f"Seeds: {report['seeds']['seed']} ({report['seeds']['attacks']}).")
    parts.append("## Figures")
    for name, path in report["figures"].items():
        parts.append(f"![{name}]({path})")
    parts.append(f"Run time: {report['seconds']:.1f} s.")
    return "\n\n".join(parts) + "\n"
