"""PGD (Madry et al. 2018): k steepest-ascent steps projected on the Lp ball ∩ box, random starts."""
from __future__ import annotations

from typing import Optional, Union

import torch
from torch import Tensor, nn

from robustgan.optim import Box, Momentum, optimize, parse_norm, Ball, steepest, uniform_in_ball
from robustgan.validation import check_number, check_positive_int, check_step_size

from ._common import AttackResult, Norm, adversarial_loss, finish, fooled, generator_for, prepare, refuse_nonfinite_clean


def pgd(model: nn.Module, x: Tensor, y: Tensor, eps: Union[float, Tensor], *,
        norm: Norm = "linf", steps: int = 10, step_size: Union[None, float, Tensor] = None,
        restarts: int = 1, random_start: bool = True, target: Optional[Tensor] = None,
        loss: str = "ce", early_stop: bool = False, keep: str = "best",
        seed: Optional[int] = 0, generator: Optional[torch.Generator] = None,
        retire_cycles: bool = False, progress: bool = False) -> AttackResult:
    """Projected gradient descent on the adversarial loss.

    ``step_size`` defaults to 2.5·ε/steps (Madry et al.). ``early_stop`` retires a sample as soon
    as it is fooled — the right thing when only robust accuracy is wanted. ``keep='best'`` returns,
    per sample, a fooling iterate if any restart found one (the first), else the one with the
    highest loss; ``keep='last'`` returns the final iterate like most peer libraries.
    ``retire_cycles`` (with ``keep='best'``) also retires a restart whose iterate revisits an
    earlier one: its remaining steps could only revisit points already scored, so the result is
    the full budget's while robust points stop early (see :mod:`robustgan.optim.cycles`).
    The random start is drawn from ``generator``, else from a generator seeded with ``seed`` (the
    same call gives the same start), else, with ``seed=None``, from torch's global RNG.
    """
    y, target, eps = prepare(model, x, y, target, eps, clean_pass="first")
    p = parse_norm(norm)
    steps = check_positive_int(steps, "steps", minimum=0)  # 0 steps: the (random) start itself
    restarts = check_positive_int(restarts, "restarts")
    alpha = 2.5 * eps / max(steps, 1) if step_size is None else check_step_size(step_size, x.shape[0], eps)
    ball = Ball(p, eps) & Box(0, 1)
    res = optimize(
        model, x, adversarial_loss(loss, target is not None),
        step=steepest(p, alpha), steps=steps, constraint=ball,
        target=y if target is None else target, restarts=restarts,
        init=uniform_in_ball(p, radial="uniform") if random_start else None,
        success=fooled(target is not None), stop_on_success=early_stop, keep=keep,
        generator=generator_for(seed, generator), progress=progress, desc=f"PGD-{steps}",
        retire_cycles=retire_cycles,
    )
    refuse_nonfinite_clean(model, x, res.loss)
    return finish(model, res.x, x, y, target, p, res.steps, res.success, queries=res)


def mifgsm(model: nn.Module, x: Tensor, y: Tensor, eps: Union[float, Tensor], *,
           steps: int = 10, decay: float = 1.0, step_size: Union[None, float, Tensor] = None,
           target: Optional[Tensor] = None, progress: bool = False) -> AttackResult:
    """Momentum iterative FGSM (Dong et al. 2018): sign steps on an accumulated, L1-normalised
    gradient, from the input itself (it draws no random numbers, so it takes no ``seed``)."""
    y, target, eps = prepare(model, x, y, target, eps, clean_pass="first")
    steps = check_positive_int(steps, "steps", minimum=0)
    decay = check_number(decay, "decay", at_least=0)
    alpha = eps / max(steps, 1) if step_size is None else check_step_size(step_size, x.shape[0], eps)
    res = optimize(
        model, x, adversarial_loss("ce", target is not None),
        step=Momentum(alpha, decay), steps=steps, constraint=Ball(float("inf"), eps) & Box(0, 1),
        target=y if target is None else target, keep="last", success=fooled(target is not None),
        progress=progress, desc=f"MI-FGSM-{steps}",
    )
    refuse_nonfinite_clean(model, x, res.loss)
    return finish(model, res.x, x, y, target, float("inf"), res.steps, res.success, queries=res)
