"""``optimize``: the one loop every feature of the library runs on."""
from __future__ import annotations

import inspect
from typing import Callable, Optional, Union

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from .constraints import Ball, Box, box_of
from .cycles import CycleDetector
from .freeze import frozen
from .layout import channels_last as channels_last_weights
from .lbfgs import run_lbfgsb
from .options import resolve
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
    retire_cycles: bool = False,
    sync_every: Optional[int] = None,
    amp: Optional[str] = None,
    compile: Optional[bool] = None,
    channels_last: Optional[bool] = None,
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
        retire_cycles: retire a row once its iterate equals one of its earlier iterates: with a
            memoryless rule (``Sign``, ``NormalizedGradient``, ``GradientDescent``) the rest of its run
            would only revisit points already scored, so ``keep="best"`` gives the same result
            (see :mod:`robustgan.optim.cycles`).
        sync_every, amp, compile, channels_last: how the loop runs (see :class:`~robustgan.optim.LoopOptions`);
            None takes the value of the enclosing :func:`~robustgan.optim.loop_options` block.
    """
    _check_call(model, start, origin, target, constraint, parametrization, steps, restarts)
    options = resolve(sync_every, amp, compile, channels_last)
    if retire_cycles:
        _check_cycles(step, keep, transform)
    n, device = start.shape[0], start.device
    origin = start.detach() if origin is None else origin.detach()
    target, samples, radius = _rows(start, target, constraint, restarts)
    state = RunState(model, objective, parametrization, origin, samples, target, success, score, keep,
                     transform=transform, options=options,
                     seeks_boundary=isinstance(step, LBFGSB) or bool(getattr(step, "seeks_boundary", False)))
    origin_rows = state.origin_rows
    first = _first_iterate(start, samples, restarts, init, constraint, origin_rows, radius, generator)

    with frozen([model, *parametrization.modules()]), channels_last_weights(model, state.channels_last):
        w = parametrization.to_variable(first).detach().clone()
        if isinstance(step, LBFGSB):
            if constraint is not None and not isinstance(constraint, Box):
                raise ValueError("L-BFGS-B supports a box constraint only; use a penalty for the distance")
            run_lbfgsb(state, w, step, steps, constraint, progress=progress, desc=desc)
            return state.result(n, torch.full((n,), steps, device=device), [])
        run = _Run(state, w, step, steps, constraint, origin_rows, radius, n, retire_cycles, progress, desc)
        if options.sync_every is not None:
            return _masked(run, w, stop_on_success, options.sync_every)
        return _first_order(run, w, stop_on_success)


def _rows(start: Tensor, target: Optional[Tensor], constraint, restarts: int) -> tuple:
    """Restarts as a batch dimension: each row's target, its sample, and its radius (the run's own
    copy: a rule may move it in place)."""
    n, device = start.shape[0], start.device
    if target is not None:
        target = target.to(device).repeat(restarts, *([1] * (target.dim() - 1)))
    samples = torch.arange(n, device=device).repeat(restarts)
    radii_of = getattr(constraint, "radii", None)  # a constraint with a radius: Ball, or any with radii()
    radii = None if radii_of is None else radii_of(n, device, start.dtype)
    return target, samples, None if radii is None else radii[samples]


def _first_iterate(start, samples, restarts, init, constraint, origin_rows, radius, generator) -> Tensor:
    """Each row's first iterate: the start (or ``init``'s draw), projected onto the constraint."""
    first = start.detach()[samples] if restarts > 1 else start.detach()
    if init is not None:
        first = init(origin_rows, radius, generator).detach()
    if constraint is not None:
        first = constraint.project(first, origin_rows, radius)
    return first


def _bounds(constraint, parametrization) -> tuple:
    """The box the start must lie in: the constraint's, else a tanh change of variables' range."""
    box = box_of(constraint)
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
    if not isinstance(parametrization, Parametrization):
        raise TypeError("parametrization must be a robustgan.optim.Parametrization, "
                        f"got {type(parametrization).__name__}")
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


def _check_cycles(rule, keep, transform) -> None:
    """Cycle retirement is exact only for a deterministic map of the iterate and the best-kept result."""
    if not getattr(rule, "memoryless", False):
        raise ValueError(f"retire_cycles needs a memoryless step rule (Sign, NormalizedGradient, GradientDescent): "
                         f"{type(rule).__name__} keeps state between steps, so a revisited iterate may move on")
    if keep != "best":
        raise ValueError(f"retire_cycles needs keep='best' (a cycling row's last iterate depends on when the "
                         f"budget ends), got keep={keep!r}")
    if transform is not None:
        raise ValueError("retire_cycles cannot be used with a transform: a random transform makes the next "
                         "iterate a random function of the current one")


def _sample_any(flags: Tensor, samples: Tensor, n: int) -> Tensor:
    """Per sample: whether any of its rows has the flag (no host synchronisation)."""
    return torch.zeros(n, dtype=torch.long, device=flags.device).index_add_(0, samples, flags.long()) > 0


def _take(t, rows):
    return t if t is None or rows is None else t[rows]


def _observes_success(rule) -> bool:
    """Whether the rule's ``observe`` declares a ``success`` parameter (rules written before the
    hook had one keep their four-argument signature)."""
    try:
        return "success" in inspect.signature(rule.observe).parameters
    except (TypeError, ValueError):
        return False


class _Run:
    """What both loops set up the same way: the rule bound to the run, the projection, the retired
    flags per sample (``done``) and per row (``cycled``), the cycle detector, the steps each sample
    used and the progress bar; plus one evaluate-differentiate-observe pass."""

    def __init__(self, state, w, rule, steps, constraint, origin_rows, radius, n, retire_cycles, progress, desc):
        self.state, self.rule, self.steps, self.n = state, rule, steps, n
        self.samples = state.samples
        self.constraint, self.origin_rows, self.radius = constraint, origin_rows, radius
        rule.reset(w, self.samples)
        rule.bind(RuleContext(self.project, origin_rows, radius, steps, self.gradient, box_of(constraint)))
        self.use_grad = rule.needs_grad
        self.extra = _observes_success(rule)
        rows = self.samples.shape[0]
        self.done = torch.zeros(n, dtype=torch.bool, device=w.device)
        self.cycled = torch.zeros(rows, dtype=torch.bool, device=w.device)  # rows retired by a cycle
        self.cycles = CycleDetector(rows, steps, w[0].numel(), w.device) if retire_cycles else None
        self.steps_used = torch.full((n,), steps, device=w.device)
        self.bar = tqdm(total=steps, desc=desc, disable=not progress, leave=False)

    def project(self, x, rows):
        if self.constraint is None:
            return x
        return self.constraint.project(x, _take(self.origin_rows, rows), _take(self.radius, rows))

    def gradient(self, v, rows):
        """The objective's gradient at other variables of the rows (for rules that look around)."""
        with torch.enable_grad():
            v = v.detach().requires_grad_(True)
            _, loss = self.state.evaluate(v, rows)
            return torch.autograd.grad(loss.sum(), v)[0]

    def active(self) -> Tensor:
        return ~self.done[self.samples] & ~self.cycled

    def evaluate(self, w_rows, rows, last: bool, active=None):
        """Forward (and backward unless ``last``), record, hand the rule what it observes;
        returns (evaluation, loss, gradient or None, success flags or None)."""
        differentiate = self.use_grad and not last
        with torch.set_grad_enabled(differentiate):
            w_rows.requires_grad_(differentiate)
            ev, loss = self.state.evaluate(w_rows, rows, active)
            grad = torch.autograd.grad(loss.sum(), w_rows)[0] if differentiate else None
        succ = self.state.record(ev, loss, rows, active)
        if self.extra:
            self.rule.observe(w_rows.detach(), loss.detach(), grad, rows, success=succ)
        else:
            self.rule.observe(w_rows.detach(), loss.detach(), grad, rows)
        return ev, loss, grad, succ

    def retire_finished(self, t: int) -> None:
        _finish_samples(self.steps_used, self.done, self.cycled, self.samples, self.n, t)

    def tick(self, active_rows: int, loss: float) -> None:
        self.bar.update(1)
        if not self.bar.disable:
            self.bar.set_postfix(active=active_rows, loss=f"{loss:.4g}")


def _first_order(run: _Run, w, stop_on_success):
    """The loop that gathers the active rows every step: the least arithmetic, one host
    synchronisation per step (to learn which rows are active)."""
    state, steps = run.state, run.steps
    trace = []
    for t in range(steps + 1):
        active = run.active()
        if not bool(active.any()):
            break
        rows = None if bool(active.all()) else active.nonzero().squeeze(1)
        w_rows = (w if rows is None else w[rows]).detach()
        last = t == steps
        if last and state.keep == "final":
            state.keep_final(state.inputs(w_rows, rows), rows)
            break
        ev, loss, grad, succ = run.evaluate(w_rows, rows, last)
        trace.append(float(loss.detach().mean()))
        if last:
            break
        idx = torch.arange(w.shape[0], device=w.device) if rows is None else rows
        leaving = torch.zeros_like(idx, dtype=torch.bool)
        if stop_on_success and succ is not None and bool(succ.any()):
            newly = torch.unique(ev.samples[succ])
            run.done[newly] = True
            leaving |= run.done[ev.samples]
        if run.cycles is not None:
            repeat = run.cycles.seen(w_rows, rows) & ~leaving
            if bool(repeat.any()):
                run.cycled[idx[repeat]] = True
                leaving |= repeat
        keep_rows = rows
        if bool(leaving.any()):
            run.retire_finished(t)
            still = ~leaving
            if not bool(still.any()):
                break
            keep_rows, w_rows = idx[still], w_rows[still]
            grad = None if grad is None else grad[still]
        moved = run.project(run.rule.step(w_rows.detach(), grad, keep_rows), keep_rows)
        if keep_rows is None:
            w = moved.detach()
        else:
            w[keep_rows] = moved.detach()
        run.tick(int((~run.done).sum()) if not run.bar.disable else 0, trace[-1])
    run.bar.close()
    return state.result(run.n, run.steps_used, trace)


def _finish_samples(steps_used: Tensor, done: Tensor, cycled: Tensor, samples: Tensor, n: int, t: int) -> None:
    """Steps used: t for the samples whose every row has just retired (success or cycle)."""
    retired = ~_sample_any(~(done[samples] | cycled), samples, n)
    steps_used.copy_(torch.where(retired & (steps_used > t), torch.full_like(steps_used, t), steps_used))


def _masked(run: _Run, w, stop_on_success, sync_every):
    """The sync-free loop: every row stays in the batch and retired rows are masked (not moved,
    not recorded, not counted), so each step is the same sequence of kernels; whether any row is
    still active is asked of the device only every ``sync_every`` steps. It reaches the decisions of
    :func:`_first_order` (the same rows retire at the same steps)."""
    state, steps, samples = run.state, run.steps, run.samples
    traces = []
    for t in range(steps + 1):
        active = run.active()
        if t % sync_every == 0 and not bool(active.any()):
            break
        w_rows = w.detach()
        last = t == steps
        if last and state.keep == "final":
            state.keep_final(state.inputs(w_rows, None), None, active)
            break
        ev, loss, grad, succ = run.evaluate(w_rows, None, last, active)
        traces.append(torch.where(active, loss.detach(), torch.zeros_like(loss)).sum()
                      / active.sum().clamp_min(1))
        if last:
            break
        if stop_on_success and succ is not None:
            run.done |= _sample_any(succ & active, samples, run.n)
        if run.cycles is not None:
            run.cycled |= run.cycles.seen(w_rows, None) & active & ~run.done[samples]
        run.retire_finished(t)
        still = run.active()
        moved = run.project(run.rule.step(w_rows.detach(), grad, None), None)
        w = torch.where(still.reshape(-1, *([1] * (w.dim() - 1))), moved.detach(), w)
        if not run.bar.disable:
            run.tick(int(still.sum()), float(traces[-1]))
    run.bar.close()
    return state.result(run.n, run.steps_used, [float(v) for v in traces])
