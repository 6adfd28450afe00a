"""A readable Markdown report from the JSON one."""
from __future__ import annotations

from typing import Any, Dict, List


def _pct(v: float) -> str:
    return "—" if v != v else f"{100 * v:.1f}%"


def _num(v: float, digits: int = 4) -> str:
    if v != v:
        return "—"
    return f"{v:.{digits}f}" if digits != 4 else f"{v:.4g}"


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
    ]
    if report.get("complete") is False:
        parts.insert(1, "**Partial report**: the run has not finished (it continues with `--resume`). "
                        f"Phases done: {', '.join(report.get('phases', [])) or 'none'}.")
    if report.get("headline"):
        parts.append("## Verdict: robust accuracy per threat (the lowest over every attack that ran)")
        rows = [[h["norm"], f"{h['eps']:g}", f"**{_pct(h['robust_accuracy'])}**", h["attack"],
                 ", ".join(f"{k} {_pct(v)}" for k, v in h["candidates"].items())] for h in report["headline"]]
        parts.append(_table(["norm", "ε", "robust accuracy", "reached by", "every attack at this ε"], rows))
    parts.append("## Robust accuracy under attack")
    for sweep in report["sweeps"]:
        rows = [[f"{e:g}", _pct(a), str(n)] for e, a, n in zip(sweep["eps"], sweep["robust_accuracy"], sweep["attacked"])]
        parts.append(f"### {sweep['attack']} ({sweep['norm']}, {sweep['description']})")
        parts.append(_table(["ε", "robust accuracy", "points attacked"], rows))
    for norm, block in report.get("minimal", {}).items():
        parts.append(f"## Minimal adversarial distortion ({norm}), {block['examples']} correctly classified points")
        parts.append("The envelope keeps, per point, the smallest distortion any attack found. Optimality is the "
                     "area under the envelope's robust-accuracy curve over the attack's, on [0, "
                     f"{block['eps_max']:g}] (1 = the attack is the envelope); queries are forward + backward "
                     "passes per point.")
        rows = [[k, _pct(v["success_rate"]), _num(v["median"]), _num(v.get("p90", float("nan"))),
                 _num(v.get("optimality", float("nan")), 3), _num(v.get("median_ratio_to_envelope", float("nan")), 3),
                 _num(v.get("queries", float("nan")), 0), _num(v.get("seconds", float("nan")), 1)]
                for k, v in block["attacks"].items()]
        parts.append(_table(["attack", "success", "median ‖δ‖", "90th pct", "optimality", "median / envelope",
                             "queries", "seconds"], rows))
    if report.get("per_class"):
        pc = report["per_class"]
        parts.append(f"## Per-class robust accuracy ({pc['attack']}, {pc['norm']}, ε = {pc['eps']:g})")
        rows = [[c, _pct(cl), _pct(r)] for c, cl, r in zip(pc["classes"], pc["clean"], pc["robust"])]
        parts.append(_table(["class", "clean", "robust"], rows))
    if report.get("suites"):
        parts.append("## Attack suites (each attack runs on the points the earlier ones left unbroken)")
        for su in report["suites"]:
            why = " (run because gradient-masking checks failed)" if su.get("escalated") else ""
            parts.append(f"### {su['suite']} suite{why}, {su['norm']}, ε = {su['eps']:g}: "
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
