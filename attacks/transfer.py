"""Transfer-oriented L∞ attacks: MI-FGSM's momentum plus input diversity (DI), translation
invariance (TI) or variance tuning (VMI), each one :func:`~robustgan.optim.optimize` call with the
pieces of :mod:`robustgan.optim.transfer`. Like MI-FGSM they keep the last iterate: examples meant
for another model are judged there, not on the source model's best score."""
from __future__ import annotations

from typing import Callable, Optional, Union

import torch
from torch import Tensor, nn

from robustgan.optim import Box, LinfBall, Momentum, StepRule, optimize
from robustgan.optim.rules.transfer import InputDiversity, Smoothed, VarianceTuned, gaussian_kernel
from robustgan.validation import check_number, check_positive_int, check_step_size

from ._common import AttackResult, adversarial_loss, finish, fooled, generator_for, prepare


def _sign_run(model, x, y, target, eps, steps: int, rule: StepRule, transform: Optional[Callable],
              desc: str, progress: bool) -> AttackResult:
    res = optimize(
        model, x, adversarial_loss("ce", target is not None), step=rule, steps=steps,
        constraint=LinfBall(eps) & Box(0, 1), target=y if target is None else target, keep="last",
        success=fooled(target is not None), transform=transform, progress=progress, desc=desc,
    )
    return finish(model, res.x, x, y, target, float("inf"), res.steps, res.success, queries=res)


def _alpha(step_size, x, eps, steps):
    return eps / max(steps, 1) if step_size is None else check_step_size(step_size, x.shape[0], eps)


def _diversity(resize_rate: float, diversity_prob: float, gen) -> Optional[InputDiversity]:
    diversity_prob = check_number(diversity_prob, "diversity_prob", at_least=0, at_most=1)
    resize_rate = check_number(resize_rate, "resize_rate", above=0)
    return None if diversity_prob == 0 else InputDiversity(resize_rate, diversity_prob, gen)


def difgsm(model: nn.Module, x: Tensor, y: Tensor, eps: Union[float, Tensor], *, steps: int = 10,
           step_size: Union[None, float, Tensor] = None, decay: float = 0.0, resize_rate: float = 0.9,
           diversity_prob: float = 0.5, target: Optional[Tensor] = None, seed: Optional[int] = 0,
           generator: Optional[torch.Generator] = None, progress: bool = False) -> AttackResult:
    """DI-FGSM (Xie et al. 2019): (momentum) sign steps through a random resize-and-pad of the input,
    drawn from ``generator`` or ``seed`` (``seed=None``: torch's global RNG)."""
    y, target, eps = prepare(model, x, y, target, eps)
    steps = check_positive_int(steps, "steps", minimum=0)
    decay = check_number(decay, "decay", at_least=0)
    gen = generator_for(seed, generator)
    return _sign_run(model, x, y, target, eps, steps, Momentum(_alpha(step_size, x, eps, steps), decay),
                     _diversity(resize_rate, diversity_prob, gen), f"DI-FGSM-{steps}", progress)


def tifgsm(model: nn.Module, x: Tensor, y: Tensor, eps: Union[float, Tensor], *, steps: int = 10,
           step_size: Union[None, float, Tensor] = None, decay: float = 0.0, kernel_size: int = 15,
           nsig: float = 3.0, resize_rate: float = 0.9, diversity_prob: float = 0.5,
           target: Optional[Tensor] = None, seed: Optional[int] = 0,
           generator: Optional[torch.Generator] = None, progress: bool = False) -> AttackResult:
    """TI-FGSM (Dong et al. 2019): the gradient convolved with a Gaussian kernel, with input
    diversity as in the reference implementation (``diversity_prob=0`` for TI alone)."""
    y, target, eps = prepare(model, x, y, target, eps)
    steps = check_positive_int(steps, "steps", minimum=0)
    decay = check_number(decay, "decay", at_least=0)
    kernel_size = check_positive_int(kernel_size, "kernel_size")
    gen = generator_for(seed, generator)
    rule = Smoothed(Momentum(_alpha(step_size, x, eps, steps), decay), gaussian_kernel(kernel_size, nsig))
    return _sign_run(model, x, y, target, eps, steps, rule, _diversity(resize_rate, diversity_prob, gen),
                     f"TI-FGSM-{steps}", progress)


def vmifgsm(model: nn.Module, x: Tensor, y: Tensor, eps: Union[float, Tensor], *, steps: int = 10,
            step_size: Union[None, float, Tensor] = None, decay: float = 1.0, neighbours: int = 5,
            beta: float = 1.5, target: Optional[Tensor] = None, seed: Optional[int] = 0,
            generator: Optional[torch.Generator] = None, progress: bool = False) -> AttackResult:
    """VMI-FGSM (Wang & He 2021): momentum on the gradient corrected by its variance over
    ``neighbours`` random points in the β·ε cube (each step costs 1 + ``neighbours`` gradients)."""
    y, target, eps = prepare(model, x, y, target, eps)
    steps = check_positive_int(steps, "steps", minimum=0)
    decay = check_number(decay, "decay", at_least=0)
    neighbours = check_positive_int(neighbours, "neighbours")
    beta = check_number(beta, "beta", at_least=0)
    rule = VarianceTuned(_alpha(step_size, x, eps, steps), decay, neighbours, beta, generator_for(seed, generator))
    return _sign_run(model, x, y, target, eps, steps, rule, None, f"VMI-FGSM-{steps}", progress)


__all__ = ["difgsm", "tifgsm", "vmifgsm"]
