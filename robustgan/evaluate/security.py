"""The security curve of one threat model: every minimal-norm attack on the same points, their
per-point envelope, each attack's distance from it (optimality) and its query cost."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from .minimal import accuracy_at, distortion_summary, envelope, optimality, per_point_distance
from .registry import minimal_attack


@dataclass
class SecurityCurve:
    norm: str
    index: Tensor  # indices (into the evaluated examples) of the attacked points
    distances: Dict[str, Tensor] = field(default_factory=dict)  # attack -> decisive distance per point
    rows: Dict[str, Dict] = field(default_factory=dict)  # attack -> summary for the report
    best: Optional[Tensor] = None  # the envelope: per point, the smallest distance of any attack
    adversarial: Optional[Tensor] = None  # per point, the image that achieves the envelope distance

    def curve(self, d: Tensor, eps: List[float], scale: float) -> List[float]:
        return [scale * a for a in accuracy_at(d, eps)]


def run_minimal(model: nn.Module, x: Tensor, y: Tensor, name: str, norm: str, queries: Optional[int]) -> Dict:
    """One minimal-norm attack on one slice of points: what the curve needs, as plain tensors."""
    attack, _ = minimal_attack(name, norm, queries)
    t0 = time.perf_counter()
    r = attack(model, x, y)
    out = {"success": r.success, "distance": r.distance, "x": r.x, "seconds": time.perf_counter() - t0}
    if r.forwards is not None:
        out.update(forwards=r.forwards, backwards=r.backwards)
    return out


def assemble_curve(norm: str, index: Tensor, parts: Dict[str, List[Dict]], eps_max: float,
                   log: Callable[[str], None] = lambda s: None) -> SecurityCurve:
    """The curve from each attack's slices (``parts[name]``, in the order of ``index``)."""
    sc = SecurityCurve(norm, index)
    images: Dict[str, Tensor] = {}
    for name, chunks in parts.items():
        if not chunks:
            continue
        success = torch.cat([c["success"] for c in chunks])
        distance = torch.cat([c["distance"] for c in chunks])
        images[name] = torch.cat([c["x"] for c in chunks])
        seconds = float(sum(c["seconds"] for c in chunks))
        sc.distances[name] = per_point_distance(distance, success, torch.ones_like(success))
        row = distortion_summary(distance, success)
        row.update(description=minimal_attack(name, norm, None)[1], examples=int(len(success)), seconds=seconds)
        if all("forwards" in c for c in chunks):
            fw = torch.cat([c["forwards"] for c in chunks]).float()
            bw = torch.cat([c["backwards"] for c in chunks]).float()
            row.update(forwards=float(fw.mean()), backwards=float(bw.mean()), queries=float((fw + bw).mean()))
        sc.rows[name] = row
        log(f"{name} {norm}: success {100 * row['success_rate']:.1f}%, median {row['median']:.4g}, "
            f"{row.get('queries', float('nan')):.0f} queries/point, {seconds:.1f} s")
    if not sc.distances:
        return sc
    sc.best = envelope(sc.distances)
    names_in_order = list(sc.distances)
    winner = torch.stack([sc.distances[n] for n in names_in_order]).argmin(dim=0)
    sc.adversarial = torch.stack([images[n] for n in names_in_order])[winner, torch.arange(len(winner))]
    for k, name in enumerate(names_in_order):
        d = sc.distances[name]
        both = torch.isfinite(d) & torch.isfinite(sc.best) & (sc.best > 0)
        ratio = float((d[both] / sc.best[both]).median()) if bool(both.any()) else float("nan")
        sc.rows[name].update(optimality=optimality(d, sc.best, eps_max), median_ratio_to_envelope=ratio,
                             envelope_points=int((winner == k).sum()))
    finite = torch.isfinite(sc.best)
    sc.rows["envelope"] = dict(distortion_summary(sc.best, finite), examples=int(len(index)), optimality=1.0,
                               description="per point, the smallest distortion of any attack")
    return sc


def security_curve(model: nn.Module, x: Tensor, y: Tensor, index: Tensor, norm: str, names: List[str],
                   queries: Optional[int], eps_max: float, batch_size: int, progress: bool = False,
                   log: Callable[[str], None] = lambda s: None) -> SecurityCurve:
    """Run each minimal-norm attack of ``names`` on the points ``index`` (correctly classified)."""
    xm, ym = x[index], y[index]
    parts = {name: [run_minimal(model, xm[i:i + batch_size], ym[i:i + batch_size], name, norm, queries)
                    for i in range(0, len(ym), batch_size)]
             for name in tqdm(names, desc=f"minimal-norm {norm}", disable=not progress, leave=False)}
    return assemble_curve(norm, index, parts, eps_max, log)
