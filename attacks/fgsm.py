"""FGSM (Goodfellow et al. 2015): one sign step of size ε on the cross-entropy."""
from __future__ import annotations

from typing import Optional, Union

from torch import Tensor, nn

from robustgan.optim import Box, LinfBall, Sign, optimize

from ._common import AttackResult, adversarial_loss, finish, fooled, prepare, refuse_nonfinite_clean


def fgsm(model: nn.Module, x: Tensor, y: Tensor, eps: Union[float, Tensor], *,
         target: Optional[Tensor] = None) -> AttackResult:
    """x + ε·sign(∇ₓ CE(x, y)) clipped to [0, 1]; with ``target``, a step down CE(x, target)."""
    y, target, eps = prepare(model, x, y, target, eps, clean_pass="first")
    res = optimize(
        model, x, adversarial_loss("ce", target is not None),
        step=Sign(eps), steps=1, constraint=LinfBall(eps) & Box(0, 1),
        target=y if target is None else target, keep="last", success=fooled(target is not None),
    )
    refuse_nonfinite_clean(model, x, res.loss)
    return finish(model, res.x, x, y, target, float("inf"), res.steps, res.success, queries=res)
