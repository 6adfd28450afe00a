"""What every attack shares: input checks, the objective by name, success tests, the result type."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

import torch
from torch import Tensor, nn

from robustgan.objectives import DLR, CrossEntropy, Margin, Objective, TargetMargin
from robustgan.optim import Evaluation, lp_norm, parse_norm
from robustgan.validation import check_eps, check_images, check_labels, num_classes_of


@dataclass
class AttackResult:
    """Adversarial images plus, per sample, whether they fool the model and how far they moved."""

    x: Tensor
    success: Tensor
    distance: Tensor
    steps: Optional[Tensor] = None
    norm: float = float("inf")

    def __iter__(self):  # allows ``x_adv, success, *_ = attack(...)``
        return iter((self.x, self.success, self.distance, self.steps))


def prepare(model: nn.Module, x: Tensor, y: Tensor, target: Optional[Tensor], eps=None):
    """Validate the call; returns (y, target, eps) on x's device."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_images(x)
    classes = num_classes_of(model, x)
    y = check_labels(y, x.shape[0], classes).to(x.device)
    if target is not None:
        target = check_labels(target, x.shape[0], classes, name="target").to(x.device)
    if eps is not None:
        eps = check_eps(eps, x.shape[0])
    return y, target, eps


def adversarial_loss(kind: str, targeted: bool) -> Objective:
    """The loss an attack *minimises*: ascend CE/DLR/margin of the label, or descend toward a target."""
    kind = kind.lower()
    if kind == "ce":
        return CrossEntropy() if targeted else -CrossEntropy()
    if kind in ("margin", "cw"):
        return TargetMargin() if targeted else Margin(confidence=float("inf"))
    if kind == "dlr":
        if targeted:
            raise ValueError("use the targeted DLR of the APGD-T attack; plain DLR is untargeted")
        return -DLR()
    raise ValueError(f"unknown loss {kind!r}: use 'ce', 'margin' or 'dlr'")


def fooled(targeted: bool):
    """Success test on the logits: the target class wins, or the label no longer does."""
    def test(ev: Evaluation) -> Tensor:
        pred = ev.logits.argmax(dim=1)
        return pred == ev.target if targeted else pred != ev.target
    return test


@torch.no_grad()
def finish(model: nn.Module, x_adv: Tensor, x: Tensor, y: Tensor, target: Optional[Tensor],
           norm: float, steps: Optional[Tensor] = None, success: Optional[Tensor] = None) -> AttackResult:
    """Package the result; without ``success`` from the optimiser (which judged the kept iterates
    on their own forward pass), judge the images with one forward pass (model state preserved)."""
    from robustgan.optim import frozen

    if success is None:
        with frozen([model]):
            pred = model(x_adv).argmax(dim=1)
        success = pred == target if target is not None else pred != y
    return AttackResult(x_adv, success, lp_norm(x_adv - x, norm), steps, norm)


def generator_for(seed: Optional[int], generator: Optional[torch.Generator]) -> Optional[torch.Generator]:
    if generator is not None:
        return generator
    if seed is None:
        return None
    return torch.Generator().manual_seed(seed)


Norm = Union[str, float]
__all__ = ["AttackResult", "Norm", "adversarial_loss", "finish", "fooled", "generator_for", "parse_norm", "prepare"]
