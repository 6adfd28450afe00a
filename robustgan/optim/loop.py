"""``optimize``: the one loop every feature of the library runs on."""
from __future__ import annotations

import inspect
from typing import Callable, Optional, Union

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from .constraints import Ball, Box
from .freeze import frozen
from .lbfgs import run_lbfgsb
from ..validation import check_batch, check_dtype, check_positive_int
from .parametrizations import Parametrization, Pixels, TanhBox
from .state import Evaluation, OptimizeResult, RunState
from .steps import LBFGSB, RuleContext, StepRule

Constraint = Union[Box, Ball, None]
Init = Callable[[Tensor, Optional[Tensor], Optional[torch.Generator]], Tensor]


def optimize(
    model: nn.Module,
    start: Tensor,
    objective: Callable[[Evaluation], Tensor],
    *,
    step: Union[StepRule, LBFGSB],
    steps: int,
    constraint: Constraint = None,
    origin: Optional[Tensor] = None,
    target: Optional[Tensor] = None,
    parametrization: Parametrization = Pixels(),
    restarts: int = 1,
    init: Optional[Init] = None,
    success: Optional[Callable[[Evaluation], Tensor]] = None,
    stop_on_success: bool = False,
    score: Optional[Callable[[Evaluation, Tensor], Tensor]] = None,
    keep: str = "best",
    generator: Optional[torch.Generator] = None,
    progress: bool = False,
    desc: str = "optimize",
    transform: Optional[Callable[[Tensor], Tensor]] = None,
) -> OptimizeResult:
    """Minimise ``objective`` over inputs of ``model``, one value per sample, in one batched loop.

    Args:
        model: any module; it runs in eval mode with frozen weights and is restored afterwards.
        start: ``(N, ...)`` starting inputs (never modified).
        objective: maps an :class:`Evaluation` of some rows to one loss per row (to *minimise*).
        step: a :class:`StepRule` or :class:`LBFGSB`.
        steps: gradient steps (L-BFGS-B: iterations).
        constraint: feasible set around ``origin`` (default: ``start``), e.g. ``LinfBall(ε) & Box()``.
        target: one label per sample, handed to the objective (true label or target class).
        restarts: independent runs per sample, batched as rows; the best row per sample is kept.
        init: ``init(origin_rows, radius_rows, generator)`` gives each row's first iterate.
        success: per-row goal test; successful iterates win over unsuccessful ones. A step rule
            whose ``observe`` takes a ``success`` argument is handed the rows' flags after every
            evaluation (minimal-norm rules move their radius from them).
        stop_on_success: retire a sample (all its restarts) as soon as one row succeeds.
        score: what "best" minimises among equally successful iterates (default: the loss).
        keep: ``"best"`` iterate per row, the ``"last"`` one, or ``"final"``: the last one without
            the closing forward pass that would score it (for callers that only need the point, as
            adversarial training does; its loss is NaN and success None; one restart only).
        generator: randomness for ``init`` (same seed, same bits on CPU).
        progress: show a progress bar.
        transform: applied to the input before the model at every evaluation (e.g. random jitter,
            for feature visualisation); the objective and the kept iterates see the untransformed input.
    """
    _check_call(model, start, origin, target, constraint, parametrization, steps, restarts)
    n = start.shape[0]
    device = start.device
    origin = start.detach() if origin is None else origin.detach()
    if target is not None:
        target = target.to(device).repeat(restarts, *([1] * (target.dim() - 1)))
    samples = torch.arange(n, device=device).repeat(restarts)
    radii_of = getattr(constraint, "radii", None)  # a constraint with a radius: Ball, or any with radii()
    radii = None if radii_of is None else radii_of(n, device, start.dtype)
    radius = None if radii is None else radii[samples]  # the run's own copy: a rule may move it in place
    state = RunState(model, objective, parametrization, origin, samples, target, success, score, keep,
                     transform=transform)
    origin_rows = state.origin_rows
    first = start.detach()[samples] if restarts > 1 else start.detach()
    if init is not None:
        first = init(origin_rows, radius, generator).detach()
    if constraint is not None:
        first = constraint.project(first, origin_rows, radius)

    with frozen([model, *parametrization.modules()]):
        w = parametrization.to_variable(first).detach().clone()
        if isinstance(step, LBFGSB):
            if constraint is not None and not isinstance(constraint, Box):
                raise ValueError("L-BFGS-B supports a box constraint only; use a penalty for the distance")
            run_lbfgsb(state, w, step, steps, constraint, progress=progress, desc=desc)
            return state.result(n, torch.full((n,), steps, device=device), [])
        return _first_order(state, w, step, steps, constraint, origin_rows, radius, n, stop_on_success, progress, desc)


def _bounds(constraint, parametrization) -> tuple:
    """The box the start must lie in: the constraint's, else a tanh change of variables' range."""
    box = getattr(constraint, "box", None)
    if box is not None:
        return box.lo, box.hi
    if isinstance(parametrization, TanhBox):
        return parametrization.lo, parametrization.hi
    return None, None


def _check_call(model, start, origin, target, constraint, parametrization, steps, restarts) -> None:
    """The attacks' validators, at the optimiser's door: a bad call fails with a sentence naming
    the argument instead of NaN results, silent clamping or a traceback from inside torch.
    The model's outputs and the labels' range are checked at the first forward pass (RunState)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_positive_int(steps, "steps", minimum=0)
    check_positive_int(restarts, "restarts", minimum=1)
    check_batch(start, "start", *_bounds(constraint, parametrization))
    check_dtype(start, list(parametrization.modules()) or [model], "start")
    n = start.shape[0]
    if origin is not None:
        check_batch(origin, "origin")
        if origin.shape[0] != n:
            raise ValueError(f"origin must have one row per sample ({n}), got shape {tuple(origin.shape)}")
    if target is not None:
        if not isinstance(target, Tensor):
            raise TypeError(f"target must be a torch.Tensor, got {type(target).__name__}")
        if target.dim() == 0 or target.shape[0] != n:
            raise ValueError(f"target must have one entry per sample ({n}), got shape {tuple(target.shape)}")


def _take(t, rows):
    return t if t is None or rows is None else t[rows]


def _observes_success(rule) -> bool:
    """Whether the rule's ``observe`` declares a ``success`` parameter (rules written before the
    hook had one keep their four-argument signature)."""
    try:
        return "success" in inspect.signature(rule.observe).parameters
    except (TypeError, ValueError):
        return False


def _first_order(state, w, rule, steps, constraint, origin_rows, radius, n, stop_on_success, progress, desc):
    samples = state.samples

    def project(x, rows):
        if constraint is None:
            return x
        return constraint.project(x, _take(origin_rows, rows), _take(radius, rows))

    rule.reset(w, samples)
    rule.bind(RuleContext(project, origin_rows, radius, steps))
    use_grad = rule.needs_grad
    extra = _observes_success(rule)
    done = torch.zeros(n, dtype=torch.bool, device=w.device)
    steps_used = torch.full((n,), steps, device=w.device)
    trace = []
    bar = tqdm(total=steps, desc=desc, disable=not progress, leave=False)
    for t in range(steps + 1):
        active = ~done[samples]
        if not bool(active.any()):
            break
        rows = None if bool(active.all()) else active.nonzero().squeeze(1)
        w_rows = (w if rows is None else w[rows]).detach()
        last = t == steps
        if last and state.keep == "final":
            state.keep_final(state.inputs(w_rows, rows), rows)
            break
        differentiate = use_grad and not last
        with torch.set_grad_enabled(differentiate):
            w_rows.requires_grad_(differentiate)
            ev, loss = state.evaluate(w_rows, rows)
            grad = torch.autograd.grad(loss.sum(), w_rows)[0] if differentiate else None
        succ = state.record(ev, loss, rows)
        if extra:
            rule.observe(w_rows.detach(), loss.detach(), grad, rows, success=succ)
        else:
            rule.observe(w_rows.detach(), loss.detach(), grad, rows)
        trace.append(float(loss.detach().mean()))
        if last:
            break
        keep_rows = rows
        if stop_on_success and succ is not None and bool(succ.any()):
            newly = torch.unique(ev.samples[succ])
            done[newly] = True
            steps_used[newly] = t
            still = ~done[ev.samples]
            if not bool(still.any()):
                break
            idx = torch.arange(w.shape[0], device=w.device) if rows is None else rows
            keep_rows, w_rows = idx[still], w_rows[still]
            grad = None if grad is None else grad[still]
        moved = project(rule.step(w_rows.detach(), grad, keep_rows), keep_rows)
        if keep_rows is None:
            w = moved.detach()
        else:
            w[keep_rows] = moved.detach()
        bar.update(1)
        if progress:
            bar.set_postfix(active=int((~done).sum()), loss=f"{trace[-1]:.4g}")
    bar.close()
    return state.result(n, steps_used, trace)
