"""Fooling images (Nguyen, Yosinski & Clune 2015): unrecognisable inputs classified with ≥ 99.99% confidence.

Start from the dataset mean plus a little Gaussian noise and ascend the softmax probability of a
target class — one image per class, all classes in one batched run of :func:`robustgan.optim.optimize`,
each retired the moment it reaches the confidence goal. Optional priors (L2 distance from the mean,
blur, total variation) make the images smoother; without them they stay close to the mean image,
which is the paper's point: the classifier is confident far from any real example.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..objectives import BlurPenalty, Distance, Objective, Probability, TotalVariation
from ..optim import Adam, Box, frozen, optimize
from ..validation import check_images, num_classes_of


@dataclass
class FoolingResult:
    """Per target class: the image, its confidence, success, steps taken and L2 distance from the mean."""

    images: Tensor
    classes: Tensor
    confidence: Tensor
    success: Tensor
    steps: Tensor
    l2_from_mean: Tensor
    goal: float

    def summary(self, class_names: Optional[Sequence[str]] = None) -> Dict[str, Any]:
        rows = []
        for i, c in enumerate(self.classes.tolist()):
            rows.append({
                "class": c,
                "name": class_names[c] if class_names else str(c),
                "confidence": float(self.confidence[i]),
                "reached_goal": bool(self.success[i]),
                "steps": int(self.steps[i]),
                "l2_from_mean": float(self.l2_from_mean[i]),
            })
        return {"goal_confidence": self.goal, "all_reached": bool(self.success.all()), "per_class": rows}


def _probability(logits: Tensor, target: Tensor) -> Tensor:
    return F.softmax(logits.double(), dim=1).gather(1, target[:, None]).squeeze(1)


def _log_probability(ev) -> Tensor:
    return F.log_softmax(ev.logits, dim=1).gather(1, ev.target[:, None]).squeeze(1)


class _LogProbability(Objective):
    def __call__(self, ev) -> Tensor:
        return _log_probability(ev)

    def __repr__(self):
        return "log p(t)"


def fooling_images(model: nn.Module, mean_image: Tensor, classes: Optional[Sequence[int]] = None, *,
                   confidence: float = 0.9999, steps: int = 1000, step_size: float = 0.01,
                   noise: float = 0.01, loss: str = "probability", l2: float = 0.0, blur: float = 0.0,
                   blur_sigma: float = 1.0, tv: float = 0.0, seed: int = 0,
                   progress: bool = False) -> FoolingResult:
    """One fooling image per class in ``classes`` (default: all the model's classes).

    Args:
        mean_image: the dataset mean, (1, C, H, W) or (C, H, W), in [0, 1].
        confidence: the goal softmax probability (the paper's 99.99%).
        steps: step budget; a class stops as soon as it reaches the goal.
        step_size: Adam's step on the pixels (box [0, 1] by projection).
        noise: std of the Gaussian noise added to the mean for the start (seeded).
        loss: 'probability' ascends p(t) as in the paper; 'log-probability' ascends log p(t)
            (same maximiser, stronger gradient far from the goal).
        l2, blur, tv: weights of ‖x − mean‖², the blur penalty and TV² (0 turns a term off).
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    if loss not in ("probability", "log-probability"):
        raise ValueError(f"loss must be 'probability' or 'log-probability', got {loss!r}")
    if min(l2, blur, tv) < 0:
        raise ValueError("regulariser weights must be >= 0")
    mean_image = mean_image.unsqueeze(0) if mean_image.dim() == 3 else mean_image
    check_images(mean_image, "mean_image")
    if mean_image.shape[0] != 1:
        raise ValueError(f"mean_image must be one image, got a batch of {mean_image.shape[0]}")
    n_classes = num_classes_of(model, mean_image)
    classes = list(range(n_classes)) if classes is None else [int(c) for c in classes]
    if not classes or min(classes) < 0 or max(classes) >= n_classes:
        raise ValueError(f"classes must lie in [0, {n_classes - 1}], got {classes}")
    device = mean_image.device
    target = torch.tensor(classes, device=device)
    n = len(classes)
    gen = torch.Generator().manual_seed(seed)
    eps = torch.randn((n, *mean_image.shape[1:]), generator=gen).to(device, mean_image.dtype)
    origin = mean_image.expand(n, -1, -1, -1)
    start = (origin + noise * eps).clamp(0, 1)

    objective: Objective = -Probability() if loss == "probability" else -_LogProbability()
    if l2:
        objective = objective + l2 * Distance(2, squared=True)
    if blur:
        objective = objective + blur * BlurPenalty(blur_sigma)
    if tv:
        objective = objective + tv * TotalVariation(2.0)

    def reached(ev) -> Tensor:  # in float64, so 0.9999 means 0.9999 and not float32's 0.99989998
        return _probability(ev.logits, ev.target) >= confidence

    res = optimize(model, start, objective, step=Adam(step_size), steps=steps, constraint=Box(0, 1),
                   origin=origin, target=target, success=reached, stop_on_success=True,
                   progress=progress, desc="fooling images")
    with torch.no_grad(), frozen([model]):
        p = _probability(model(res.x), target)
    l2_dist = (res.x - origin).reshape(n, -1).norm(dim=1)
    # success is judged on the returned images themselves (one forward of the whole batch)
    return FoolingResult(res.x, target, p, p >= confidence, res.steps, l2_dist, confidence)
