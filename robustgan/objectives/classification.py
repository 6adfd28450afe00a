"""Losses on a classifier's logits: cross-entropy, the Carlini–Wagner margin, DLR, target probability.

Each returns the quantity as named; an attack that *ascends* it negates it (``-CrossEntropy()``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import Objective


def _need_target(ev) -> Tensor:
    """The rows' class indices, checked here: the optimiser is general and hands on any target."""
    if ev.target is None:
        raise ValueError("this objective needs a target: a label or target class per sample")
    if ev.logits.dim() != 2:
        raise ValueError(f"this objective needs the model to return logits (N, classes), got shape {tuple(ev.logits.shape)}")
    if ev.target.is_floating_point() or ev.target.dtype == torch.bool:
        raise TypeError(f"target must be integer class indices, got dtype {ev.target.dtype}")
    if ev.target.dim() != 1:
        raise ValueError(f"target must hold one class index per row, got shape {tuple(ev.target.shape)}")
    return ev.target.long()  # any integer dtype is a class index; torch's losses take int64 only


def other_max(logits: Tensor, cls: Tensor) -> Tensor:
    """max_{i≠cls} z_i, masking with -inf (not zeros) so all-negative logits are handled right."""
    masked = logits.masked_fill(F.one_hot(cls, logits.shape[1]).bool(), float("-inf"))
    return masked.amax(dim=1)


class CrossEntropy(Objective):
    """CE(z, t) per row."""

    def __call__(self, ev) -> Tensor:
        return F.cross_entropy(ev.logits, _need_target(ev), reduction="none")

    def __repr__(self):
        return "CE"


class Margin(Objective):
    """Carlini–Wagner's f₆: max(z_t − max_{i≠t} z_i, −κ).

    Minimising it with t the true label pushes another class above t (untargeted); for a target
    class use :class:`TargetMargin`.
    """

    def __init__(self, confidence: float = 0.0):
        self.confidence = confidence

    def __call__(self, ev) -> Tensor:
        t = _need_target(ev)
        z_t = ev.logits.gather(1, t[:, None]).squeeze(1)
        return (z_t - other_max(ev.logits, t)).clamp_min(-self.confidence)

    def __repr__(self):
        return f"Margin(κ={self.confidence:g})"


class TargetMargin(Objective):
    """max(max_{i≠t} z_i − z_t, −κ): minimising it makes t the top class by at least κ."""

    def __init__(self, confidence: float = 0.0):
        self.confidence = confidence

    def __call__(self, ev) -> Tensor:
        t = _need_target(ev)
        z_t = ev.logits.gather(1, t[:, None]).squeeze(1)
        return (other_max(ev.logits, t) - z_t).clamp_min(-self.confidence)

    def __repr__(self):
        return f"TargetMargin(κ={self.confidence:g})"


class DLR(Objective):
    """Difference of logits ratio (Croce & Hein 2020), scale-invariant: −(z_y − max_{i≠y} z_i)/(z_π1 − z_π3)."""

    def __call__(self, ev) -> Tensor:
        y = _need_target(ev)
        z = ev.logits
        if z.shape[1] < 3:
            raise ValueError("DLR needs at least 3 classes")
        top, _ = z.sort(dim=1, descending=True)
        z_y = z.gather(1, y[:, None]).squeeze(1)
        return -(z_y - other_max(z, y)) / (top[:, 0] - top[:, 2] + 1e-12)

    def __repr__(self):
        return "DLR"


class Probability(Objective):
    """softmax(z)_t: the confidence in class t (fooling images ascend it)."""

    def __call__(self, ev) -> Tensor:
        t = _need_target(ev)
        return F.softmax(ev.logits, dim=1).gather(1, t[:, None]).squeeze(1)

    def __repr__(self):
        return "p(t)"


class Distance(Objective):
    """‖x − origin‖_p per row (``squared`` for p=2 gives CW's ‖δ‖²)."""

    def __init__(self, p: float = 2, squared: bool = False):
        self.p, self.squared = p, squared

    def __call__(self, ev) -> Tensor:
        flat = (ev.x - ev.origin).reshape(ev.x.shape[0], -1)
        if self.p == 2 and self.squared:
            return (flat * flat).sum(dim=1)
        if self.p == 2:
            # the gradient of ‖δ‖ at δ = 0 is undefined; a tiny offset keeps L-BFGS finite there
            return ((flat * flat).sum(dim=1) + 1e-12).sqrt()
        return flat.norm(p=self.p, dim=1)

    def __repr__(self):
        return f"‖δ‖_{self.p:g}" + ("²" if self.squared else "")


class TargetedDLR(Objective):
    """APGD-T's targeted DLR (Croce & Hein 2020): −(z_y − z_t)/(z_π1 − (z_π3 + z_π4)/2).

    ``ev.target`` is the true label y (the success test needs it); the target class of each sample
    is fixed at construction and looked up through ``ev.samples``.
    """

    def __init__(self, targets: Tensor):
        self.targets = targets

    def __call__(self, ev) -> Tensor:
        y = _need_target(ev)
        z = ev.logits
        if z.shape[1] < 4:
            raise ValueError("targeted DLR needs at least 4 classes")
        t = self.targets.to(z.device)[ev.samples]
        top, _ = z.sort(dim=1, descending=True)
        z_y = z.gather(1, y[:, None]).squeeze(1)
        z_t = z.gather(1, t[:, None]).squeeze(1)
        return -(z_y - z_t) / (top[:, 0] - 0.5 * (top[:, 2] + top[:, 3]) + 1e-12)

    def __repr__(self):
        return "TargetedDLR"


class LogitGap(Objective):
    """z_y − z_t per row: positive while the label still beats target t (FAB-T's decision function).

    ``ev.target`` is the label y; the per-sample targets are looked up through ``ev.samples``.
    """

    def __init__(self, targets: Tensor):
        self.targets = targets

    def __call__(self, ev) -> Tensor:
        y = _need_target(ev)
        t = self.targets.to(ev.logits.device)[ev.samples]
        return ev.logits.gather(1, y[:, None]).squeeze(1) - ev.logits.gather(1, t[:, None]).squeeze(1)

    def __repr__(self):
        return "LogitGap"
