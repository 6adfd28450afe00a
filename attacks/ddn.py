"""DDN (Rony et al. 2019, "Decoupling Direction and Norm for Efficient Gradient-Based L2
Adversarial Attacks and Defenses"): the smallest L2 perturbation that fools the model.

A recipe over :func:`robustgan.optim.optimize`: the :class:`~robustgan.optim.DDNStep` rule takes a
normalised cross-entropy step and puts the perturbation on the sphere of a per-sample radius that
it shrinks by (1−γ) while the iterate fools the model and grows by (1+γ) while it does not; the
loop clips to [0, 1] and keeps per sample the smallest fooling iterate.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from robustgan.optim import Ball, Box, DDNStep, optimize
from robustgan.validation import check_eps

from ._common import AttackResult, adversarial_loss, budget_steps, fooled, generator_for, prepare, smallest_success
from .fmn import minimal_result


def ddn(model: nn.Module, x: Tensor, y: Tensor, *, steps: int = 100, gamma: float = 0.05,
        init_epsilon: float = 1.0, target: Optional[Tensor] = None, queries: Optional[int] = None,
        seed: Optional[int] = 0, generator: Optional[torch.Generator] = None,
        progress: bool = False) -> AttackResult:
    """Minimum-L2 adversarial examples, untargeted or toward ``target``.

    Args:
        steps: gradient steps; the step length is cosine-annealed from 1 to 0.01 over them.
        gamma: the factor by which the radius shrinks or grows each step.
        init_epsilon: the radius of the first sphere (it then moves geometrically, so a poor guess
            costs about log(ε/ε₀)/log(1+γ) steps).
        queries: a per-sample budget of forward plus backward passes; it caps ``steps`` at
            ⌊(queries − 1)/2⌋ (see :func:`~attacks._common.budget_steps`).
        seed, generator: randomness for the rare zero gradient (replaced by a random direction).

    Returns an :class:`AttackResult`: per sample the smallest fooling iterate (the input where none
    fooled the model), its L2 ``distance``, and the passes spent in ``forwards``/``backwards``.
    The iterates are not quantised to 8-bit levels.
    """
    y, target, _ = prepare(model, x, y, target)
    steps = budget_steps(steps, queries)
    init_epsilon = check_eps(init_epsilon, x.shape[0], name="init_epsilon")
    if bool((torch.as_tensor(init_epsilon) <= 0).any()):  # a radius of 0 could never grow
        raise ValueError("init_epsilon must be > 0")
    targeted = target is not None
    success = fooled(targeted)
    constraint = Ball(2, init_epsilon) & Box(0.0, 1.0)
    rule = DDNStep(gamma, generator=generator_for(seed, generator))
    res = optimize(
        model, x, adversarial_loss("ce", targeted), step=rule, steps=steps, constraint=constraint,
        target=target if targeted else y, success=success, score=smallest_success(2.0, success),
        progress=progress, desc="DDN",
    )
    return minimal_result(model, res, x, y, target, 2.0)
