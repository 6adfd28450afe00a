"""DeepFool (Moosavi-Dezfooli et al. 2016): the cheap first pass of a minimal-norm evaluation.

Each step linearises the margins z_y − z_k of the ``candidates`` most likely classes and jumps to
the closest linearised boundary (L2 or L∞), inside the [0, 1] box, until the point is fooled; the
summed steps are overshot. A recipe over :func:`robustgan.optim.optimize`:

* the objective :class:`NearestLinearBoundary` picks, per row, the class whose linearised boundary
  is nearest (that needs one gradient per candidate: it takes them with one vector-Jacobian
  product per candidate on the evaluation's own graph) and returns the first-order model of that
  class's margin, whose value is the margin and whose gradient is the one already computed, so
  the loop's own backward pass never goes through the model again;
* the rule :class:`~robustgan.optim.DeepFoolStep` moves to the zero of that linear model and
  overshoots the summed moves; the loop projects onto the box, stops each sample once it is
  fooled and keeps the first fooling iterate.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from robustgan.optim import Box, DeepFoolStep, Evaluation, optimize, parse_norm
from robustgan.validation import check_logits, check_positive_int

from ._common import AttackResult, Norm, Queries, smallest_success, finish, fooled, misclassified, prepare


class NearestLinearBoundary:
    """Per row, the margin z_y − z_k (positive while the label wins) of the candidate class k whose
    linearised boundary is nearest: k̂ = argmin_k |z_y − z_k| / ‖∇(z_y − z_k)‖_q, with q the dual
    of the attack's norm (2 for L2, 1 for L∞).

    With gradients enabled it returns f(x) + ∇f(x)·(x − x̄) with x̄ a detached copy of x: the value
    is the margin and the gradient is ∇f, so the caller's backward pass stops at the input. Without
    gradients (the loop's closing pass) it returns the smallest margin over the candidates, the
    quantity that decides success.

    An evaluation in which every row is already fooled takes no gradients (all its rows retire;
    no step follows), so the last step of a run costs a forward pass only; ``vjps`` counts the
    vector-Jacobian products actually taken, per sample.

    ``candidates`` is (N, K) class indices per sample, looked up through ``ev.samples``, or an int
    K: the K most likely classes other than the label at the first evaluation, which must be of
    every sample at the clean input (the start of DeepFool's run). That evaluation is also where
    non-finite clean logits are refused, so DeepFool needs no separate clean pass.
    """

    def __init__(self, candidates, p: float):
        self.candidates, self.dual = candidates, 1.0 if p == float("inf") else 2.0
        self.vjps: Optional[Tensor] = None  # per sample: vector-Jacobian products taken

    def _rank(self, ev: Evaluation) -> None:
        z = check_logits(ev.logits, "the model").detach()
        n = z.shape[0]
        if z.shape[1] < 2:
            raise ValueError(f"DeepFool needs a model with at least 2 classes, got logits of shape {tuple(z.shape)}")
        if not torch.equal(ev.samples, torch.arange(n, device=ev.samples.device)):
            raise RuntimeError("NearestLinearBoundary ranks the classes at its first evaluation, "
                               "which must hold every sample in order")
        bad = ~torch.isfinite(z).all(dim=1)
        if bool(bad.any()):
            raise ValueError(f"the model returns NaN or infinite logits on {int(bad.sum())} of the {n} clean "
                             "inputs; fix the model (or drop those inputs) before attacking it")
        self.candidates = runner_up_classes(z, ev.target, min(self.candidates, z.shape[1] - 1))
        self.vjps = torch.zeros(n, dtype=torch.long, device=z.device)

    def __call__(self, ev: Evaluation) -> Tensor:
        if not isinstance(self.candidates, Tensor):
            self._rank(ev)
        z, y = ev.logits, ev.target
        others = self.candidates.to(z.device)[ev.samples]
        margins = z.gather(1, y[:, None]) - z.gather(1, others)  # (rows, K)
        if not (torch.is_grad_enabled() and ev.x.requires_grad):
            return margins.min(dim=1).values
        live = torch.ones_like(y, dtype=torch.bool) if ev.active is None else ev.active  # masked runs
        if not bool((live & ~misclassified(z.detach(), y)).any()):  # every row retires here: no step needs a gradient
            return margins.detach().min(dim=1).values + 0.0 * (ev.x - ev.x.detach()).flatten(1).sum(dim=1)
        k = margins.shape[1]
        self.vjps.index_add_(0, ev.samples, live.to(ev.samples.dtype) * k)
        grads = torch.stack([
            torch.autograd.grad(margins[:, j].sum(), ev.x, retain_graph=j < k - 1)[0] for j in range(k)
        ], dim=1)  # (rows, K, ...): rows are independent, so the gradient of a sum is per row
        norms = grads.flatten(2).norm(p=self.dual, dim=2).clamp_min(1e-12)
        nearest = (margins.detach().abs() / norms).argmin(dim=1)
        rows = torch.arange(z.shape[0], device=z.device)
        g = grads[rows, nearest]
        value = margins.detach()[rows, nearest]
        return value + ((ev.x - ev.x.detach()) * g).flatten(1).sum(dim=1)


@torch.no_grad()
def runner_up_classes(logits: Tensor, y: Tensor, count: int) -> Tensor:
    """(N, count): the most likely classes other than the label at the clean input, best first."""
    logits = logits.scatter(1, y[:, None], float("-inf"))
    return logits.argsort(dim=1, descending=True)[:, :count]


def deepfool(model: nn.Module, x: Tensor, y: Tensor, *, norm: Norm = "l2", steps: int = 50,
             candidates: int = 10, overshoot: float = 0.02, queries: Optional[int] = None,
             progress: bool = False) -> AttackResult:
    """Minimal-norm adversarial examples in L2 or L∞ by DeepFool.

    Args:
        norm: ``"l2"`` or ``"linf"``: the geometry of each step and of the reported distance.
        steps: the most linearise-and-jump steps per sample (a sample stops once fooled).
        candidates: how many of the most likely classes (the label included, as in Foolbox) are
            linearised at each step; the rest are never considered. Capped at the class count.
        overshoot: the perturbation is (1 + overshoot)·Σδ, which pushes points just past the
            boundary the linear model predicts (the sum is read back from the box-projected
            iterate; see :class:`~robustgan.optim.DeepFoolStep`).
        queries: a per-sample budget of model passes. A step costs one forward pass and one
            backward pass (vector-Jacobian product) per candidate other than the label (the first
            step's forward pass, at the clean input, also ranks the classes); the closing pass
            that judges the last iterate costs one forward. The budget caps ``steps`` at
            ⌊(queries − 1)/candidates⌋.

    Returns an :class:`AttackResult` whose ``x`` is, per sample, the first fooling iterate (the
    input itself where none fooled the model within ``steps``), ``distance`` its Lp norm and
    ``forwards``/``backwards`` the passes spent. The attack is deterministic.
    """
    y, _, _ = prepare(model, x, y, None, clean_pass=False)  # the run's first evaluation checks the logits
    p = parse_norm(norm)
    if p not in (2, float("inf")):
        raise ValueError(f"DeepFool supports norm 'l2' or 'linf', got {norm!r}")
    steps = check_positive_int(steps, "steps", minimum=0)
    candidates = check_positive_int(candidates, "candidates", minimum=2)
    k = candidates - 1  # at most: capped at the model's classes − 1 once its logits are seen
    objective = NearestLinearBoundary(k, p)
    if queries is not None:
        queries = check_positive_int(queries, "queries", minimum=2)
        steps = min(steps, (queries - 1) // (k + 1))
    success = fooled(False)
    res = optimize(
        model, x, objective, step=DeepFoolStep(p, overshoot), steps=steps,
        constraint=Box(0.0, 1.0), target=y, success=success, stop_on_success=True,
        score=smallest_success(p, success), progress=progress, desc=f"DeepFool-L{'inf' if p > 2 else 2}",
    )
    spent = Queries(x.shape[0], x.device)
    spent.forwards += res.forwards
    spent.backwards += objective.vjps  # one vector-Jacobian product per candidate and step
    x_adv = torch.where(res.success.reshape(-1, *([1] * (x.dim() - 1))), res.x, x)
    return finish(model, x_adv, x, y, None, p, res.steps, res.success, queries=spent)

