"""An objective's value at given inputs, computed exactly as the loop computes it."""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import Tensor, nn

from .freeze import frozen
from .layout import channels_last
from .parametrizations import Pixels
from .state import Evaluation, RunState


@torch.no_grad()
def evaluate_objective(model: nn.Module, x: Tensor, objective: Callable[[Evaluation], Tensor], *,
                       target: Optional[Tensor] = None, origin: Optional[Tensor] = None) -> Tensor:
    """One value per row of ``x``: the objective as :func:`~robustgan.optim.optimize` would see it
    at its first evaluation (the layers it reads tapped, the model in eval mode and then restored)."""
    n = x.shape[0]
    with frozen([model]):
        state = RunState(model, objective, Pixels(), (x if origin is None else origin).detach(),
                         torch.arange(n, device=x.device), target, None, None, "last")
        with channels_last(model, state.channels_last):  # the layout the loop would run it in
            _, loss = state.evaluate(x.detach(), None)
    return loss.detach()
