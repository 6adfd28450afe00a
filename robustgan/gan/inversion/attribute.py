"""Provenance attribution: which of K generators made an image, or none of them.

An image a generator made lies on that generator's range, so inverting it there leaves a residual
near zero, while under another generator (even the same architecture trained from another seed)
or for a real photograph the residual stays far above it. The decision is the generator with the
smallest residual, or "none of these" when even that residual is not below a threshold set on
held-out images from none of the generators, for a chosen false-positive rate.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import torch
from torch import Tensor

NONE = -1  # the decision "none of these generators"


@dataclass
class Attribution:
    """Per image: the decision (generator index or ``NONE``), the smallest residual and all residuals."""

    decision: Tensor   # (M,) long, NONE = none of these
    score: Tensor      # (M,) smallest residual over the generators
    residuals: Tensor  # (K, M)
    threshold: float


def _check_residuals(residuals: Tensor) -> None:
    if not isinstance(residuals, Tensor) or residuals.dim() != 2 or residuals.shape[0] < 1:
        raise ValueError(f"residuals must be (K, M) with K >= 1, got {getattr(residuals, 'shape', type(residuals))}")
    if not torch.isfinite(residuals).all():
        raise ValueError("residuals contain NaN or inf")


def calibrate_threshold(negative_scores: Tensor, fpr: float) -> float:
    """The threshold t such that at most a fraction ``fpr`` of the held-out negatives score below it.

    An image is attributed when its score (smallest residual) is strictly below t; t is the
    (⌊fpr·n⌋+1)-th smallest negative score, so the empirical false-positive rate on the held-out
    images is ⌊fpr·n⌋/n ≤ fpr (ties can only lower it).
    """
    if not 0.0 <= fpr < 1.0:
        raise ValueError(f"fpr must be in [0, 1), got {fpr}")
    s = torch.as_tensor(negative_scores).detach().flatten().double()
    if s.numel() == 0:
        raise ValueError("calibration needs at least one held-out negative score")
    if not torch.isfinite(s).all():
        raise ValueError("calibration scores contain NaN or inf")
    k = int(fpr * s.numel() + 1e-9)
    return float(s.sort().values[k])


def decide(residuals: Tensor, threshold: float) -> Attribution:
    """The generator with the smallest residual per image, or ``NONE`` where it is not below ``threshold``."""
    _check_residuals(residuals)
    score, best = residuals.min(dim=0)
    decision = torch.where(score < threshold, best, torch.full_like(best, NONE))
    return Attribution(decision.long(), score, residuals, float(threshold))


def confusion_matrix(truth: Tensor, decision: Tensor, k: int) -> Tensor:
    """(K+1)×(K+1) counts, rows = true source, columns = decision; index K (the last) is "none"."""
    t = torch.where(truth == NONE, torch.full_like(truth, k), truth).long()
    d = torch.where(decision == NONE, torch.full_like(decision, k), decision).long()
    if t.shape != d.shape or (t < 0).any() or (t > k).any() or (d < 0).any() or (d > k).any():
        raise ValueError(f"labels must be NONE ({NONE}) or in [0, {k}), with one decision per image")
    return torch.bincount(t * (k + 1) + d, minlength=(k + 1) ** 2).reshape(k + 1, k + 1)


def roc_curve(scores: Tensor, positive: Tensor) -> Dict[str, List[float]]:
    """ROC of "higher score = positive": false/true-positive rates at every distinct threshold, and AUC.

    Tied scores move both rates together (one diagonal segment), so the trapezoidal AUC equals the
    probability that a random positive outscores a random negative, ties counting one half.
    """
    s = torch.as_tensor(scores).detach().flatten().double()
    y = torch.as_tensor(positive).detach().flatten().bool()
    if s.shape != y.shape:
        raise ValueError(f"scores and labels differ in length: {s.numel()} vs {y.numel()}")
    p, n = int(y.sum()), int((~y).sum())
    if p == 0 or n == 0:
        raise ValueError("an ROC curve needs at least one positive and one negative")
    order = torch.argsort(s, descending=True, stable=True)
    s, y = s[order], y[order]
    tp, fp = torch.cumsum(y, 0).double(), torch.cumsum(~y, 0).double()
    last = torch.ones_like(y)
    last[:-1] = s[1:] != s[:-1]  # the end of each run of equal scores
    tpr = torch.cat([torch.zeros(1, dtype=torch.double), tp[last] / p])
    fpr = torch.cat([torch.zeros(1, dtype=torch.double), fp[last] / n])
    auc = float(torch.trapezoid(tpr, fpr))
    return {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "auc": auc}


def summarize(att: Attribution, truth: Tensor, names: Sequence[str]) -> Dict[str, object]:
    """Accuracy on generated images, the share of real images called "none", the confusion matrix and ROCs.

    ``truth`` holds each image's generator index, or ``NONE`` for images from none of them (real).
    ROC per generator k: score −residual_k, positives the images of k, negatives all others; and
    "generated vs real": score −(smallest residual), positives every generated image.
    """
    k = att.residuals.shape[0]
    if len(names) != k:
        raise ValueError(f"{k} generators but {len(names)} names")
    truth = torch.as_tensor(truth).long()
    generated, real = truth != NONE, truth == NONE
    out: Dict[str, object] = {
        "threshold": att.threshold,
        "generated_images": int(generated.sum()),
        "real_images": int(real.sum()),
        "confusion": {"labels": [*names, "none"], "matrix": confusion_matrix(truth, att.decision, k).tolist()},
    }
    if generated.any():
        out["accuracy_generated"] = float((att.decision[generated] == truth[generated]).double().mean())
        out["argmin_accuracy_generated"] = float((att.residuals[:, generated].argmin(0) == truth[generated]).double().mean())
    if real.any():
        out["real_labelled_none"] = float((att.decision[real] == NONE).double().mean())
    rocs: Dict[str, Dict[str, List[float]]] = {}
    for i, name in enumerate(names):
        pos = truth == i
        if pos.any() and (~pos).any():
            rocs[name] = roc_curve(-att.residuals[i], pos)
    if generated.any() and real.any():
        rocs["generated vs real"] = roc_curve(-att.score, generated)
    out["roc"] = rocs
    out["auc"] = {name: r["auc"] for name, r in rocs.items()}
    return out


def residual_quantiles(values: Tensor, qs: Optional[Sequence[float]] = None) -> Dict[str, float]:
    """A few quantiles of a set of residuals, for the report."""
    qs = qs or (0.0, 0.05, 0.5, 0.95, 1.0)
    v = torch.as_tensor(values).detach().flatten().double()
    if v.numel() == 0:
        return {}
    return {f"q{int(round(q * 100)):02d}": float(v.quantile(q)) for q in qs}
