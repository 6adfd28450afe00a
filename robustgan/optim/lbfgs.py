"""Hand a run to SciPy's L-BFGS-B; every function evaluation goes through the shared RunState."""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch
from scipy.optimize import fmin_l_bfgs_b
from torch import Tensor
from tqdm.auto import tqdm

from .constraints import Box
from .state import RunState
from .steps import LBFGSB


def run_lbfgsb(state: RunState, w0: Tensor, rule: LBFGSB, steps: int, box: Optional[Box],
               progress: bool = False, desc: str = "L-BFGS-B") -> int:
    """Minimise the sum of the rows' objectives (they are independent) within the box.

    Returns the number of function evaluations SciPy asked for.
    """
    shape, dtype, device = w0.shape, w0.dtype, w0.device
    bounds = None if box is None else [(box.lo, box.hi)] * w0.numel()

    def f_and_grad(flat: np.ndarray):
        w = torch.from_numpy(flat).to(device=device, dtype=dtype).reshape(shape).requires_grad_(True)
        with torch.enable_grad():
            ev, loss = state.evaluate(w, None)
            (grad,) = torch.autograd.grad(loss.sum(), w)
        state.record(ev, loss, None)
        return float(loss.sum().detach()), grad.detach().reshape(-1).cpu().double().numpy()

    bar = tqdm(total=steps, desc=desc, disable=not progress, leave=False)
    try:
        _, _, info = fmin_l_bfgs_b(
            f_and_grad,
            w0.detach().reshape(-1).cpu().double().numpy(),
            bounds=bounds,
            m=rule.memory,
            maxiter=steps,
            factr=rule.factr,
            pgtol=0.0,
            callback=lambda _xk: bar.update(1),  # one call per iteration
        )
    finally:
        bar.close()
    return int(info["funcalls"])
