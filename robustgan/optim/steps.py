"""Step rules: how a gradient becomes a move of the optimisation variable.

All rules *descend* the objective. A rule keeps any state (momentum, Adam moments) per row of the
batch, allocates it in :meth:`StepRule.reset` at the start of every optimisation, and only touches
the rows it is given, so retired samples keep their state untouched. Rules that move by a step size
derive from :class:`SizedStep` (a float or one value per sample); rules whose moves come from
elsewhere (a schedule, a line search, a projection) derive from :class:`StepRule` and carry none.
The attack-specific rules live in :mod:`robustgan.optim.rules`.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable, Optional, Tuple, Union

import torch
from torch import Tensor

from .constraints import Box

StepSize = Union[float, Tensor]
UNIT_BOX = (0.0, 1.0)  # the library's pixel range: images are float tensors in [0, 1]
CONSTRAINT_BOX = "constraint"  # a rule's ``box`` default: the box of the loop's constraint (RuleContext.box)


def resolve_box(box: Union[Box, None, str], context: "RuleContext") -> Optional[Box]:
    """A rule's box: the one it was given (None: no box), or the loop's constraint's by default."""
    return context.box if isinstance(box, str) else box


def _rows(t: Tensor, rows: Optional[Tensor]) -> Tensor:
    return t if rows is None else t[rows]


def _bcast(v: Tensor, like: Tensor) -> Tensor:
    return v.reshape(-1, *([1] * (like.dim() - 1)))


def _put(store: Tensor, rows: Optional[Tensor], value: Tensor, mask: Optional[Tensor] = None) -> None:
    """store[rows][mask] = value[mask], in place, for rows=None meaning every row."""
    idx = torch.arange(store.shape[0], device=store.device) if rows is None else rows
    if mask is not None:
        idx, value = idx[mask], value[mask]
    store[idx] = value


def _per_sample_norm(g: Tensor, p: float) -> Tensor:
    flat = g.reshape(g.shape[0], -1)
    if p == 2:
        return flat.norm(p=2, dim=1)
    if p == 1:
        return flat.abs().sum(dim=1)
    raise ValueError(f"unsupported p={p}")


@dataclass
class RuleContext:
    """What the loop tells a rule that wants more than the gradient (APGD, Square, FAB).

    ``project(x, rows)`` maps rows onto the feasible set; ``origin``/``radius`` are per row (all
    rows of the run); ``steps`` is the budget, for rules whose schedule depends on it.
    ``radius`` is the run's own copy, the very tensor ``project`` reads: a rule that writes into it
    in place (FMN, DDN) moves the ball every later projection uses. ``gradient(w, rows)`` is the
    objective's gradient at other variables of the same rows (counted as passes, never kept as
    iterates): for rules that look around the iterate (variance tuning). ``box`` is the box of the
    loop's constraint (None without one), for rules whose own moves must respect it.
    """

    project: Callable[[Tensor, Optional[Tensor]], Tensor]
    origin: Tensor
    radius: Optional[Tensor]
    steps: int
    gradient: Optional[Callable[[Tensor, Optional[Tensor]], Tensor]] = None
    box: Optional[Box] = None

    def bounds(self, default: Tuple[float, float] = UNIT_BOX) -> Tuple[float, float]:
        """(lo, hi) of the constraint's box, or ``default`` when the constraint has none."""
        return default if self.box is None else (float(self.box.lo), float(self.box.hi))


def check_step_size(step_size: StepSize) -> StepSize:
    """A step size is a finite number >= 0, or a tensor of them (scalar or one per sample)."""
    if isinstance(step_size, Tensor):
        if (step_size < 0).any() or not torch.isfinite(step_size).all():
            raise ValueError("step size must be finite and >= 0")
    elif not float(step_size) >= 0:
        raise ValueError(f"step size must be >= 0, got {step_size!r}")
    return step_size


class StepRule:
    """Base class: ``reset`` once per optimisation, then ``step`` on the active rows.

    Optional hooks, no-ops here: ``bind(context)`` right after ``reset``; ``observe(w, loss, grad,
    rows, success)`` after every evaluation (loss-driven rules keep their own best point or
    accept/reject moves there; ``success`` holds the rows' goal-test flags, or None without a goal
    test, and is passed only to an ``observe`` that declares the parameter, so four-argument
    overrides keep working). A rule with ``needs_grad = False`` is handed ``grad=None`` and the
    loop skips the backward pass (score-based attacks). A rule with ``memoryless = True`` promises
    that its step is a function of the row's iterate and gradient alone (no state, no schedule),
    which is what lets the loop retire rows whose iterates cycle (``retire_cycles``). A rule with
    ``seeks_boundary = True`` ends its rows on the decision boundary (minimal-norm attacks), where a
    rounding-level change of the forward pass can flip a verdict: there the loop keeps the caller's
    memory layout unless asked otherwise (see :mod:`robustgan.optim.layout`).
    """

    needs_grad = True
    memoryless = False
    seeks_boundary = False
    _sized_by_base = False  # set by the deprecated ``StepRule(step_size)`` only

    def __init__(self, step_size: Optional[StepSize] = None):
        if step_size is not None:  # subclasses from when the base sized every rule keep working
            warnings.warn(f"{type(self).__name__}: StepRule(step_size) is deprecated; derive a rule "
                          "with a step size from SizedStep", DeprecationWarning, stacklevel=2)
            SizedStep.__init__(self, step_size)
            self._sized_by_base = True

    def reset(self, w: Tensor, samples: Tensor) -> None:
        """Allocate per-row state; ``samples[i]`` is the sample that row ``i`` belongs to."""
        if self._sized_by_base:
            SizedStep.reset(self, w, samples)

    def bind(self, context: RuleContext) -> None:
        self.context = context

    def observe(self, w: Tensor, loss: Tensor, grad: Optional[Tensor], rows: Optional[Tensor],
                success: Optional[Tensor] = None) -> None:
        pass

    def step(self, w: Tensor, grad: Tensor, rows: Optional[Tensor]) -> Tensor:
        raise NotImplementedError

    def size(self, rows: Optional[Tensor], like: Tensor) -> Tensor:
        """Only for rules sized through the deprecated ``StepRule(step_size)``: :class:`SizedStep`
        has its own; a rule without a step size has no size to give."""
        if not self._sized_by_base:
            raise TypeError(f"{type(self).__name__} has no step size (derive it from SizedStep)")
        return SizedStep.size(self, rows, like)


class SizedStep(StepRule):
    """Base class of the rules that move by a step size: a float, or one value per sample."""

    def __init__(self, step_size: StepSize):
        self.step_size = check_step_size(step_size)
        self._size_rows: Optional[Tensor] = None

    def reset(self, w: Tensor, samples: Tensor) -> None:
        """Spread the step sizes over the rows (restarts share their sample's)."""
        s = self.step_size
        if isinstance(s, Tensor) and s.dim() > 0:
            self._size_rows = s.to(device=w.device, dtype=w.dtype)[samples]
        else:
            self._size_rows = torch.full((w.shape[0],), float(s), device=w.device, dtype=w.dtype)

    def size(self, rows: Optional[Tensor], like: Tensor) -> Tensor:
        """The rows' step sizes, shaped to broadcast against ``like``."""
        return _bcast(_rows(self._size_rows, rows), like)


class GradientDescent(SizedStep):
    """w ← w − α·g."""

    memoryless = True

    def step(self, w, grad, rows):
        return w - self.size(rows, w) * grad


class Sign(SizedStep):
    """w ← w − α·sign(g): steepest descent for the L∞ geometry (FGSM, PGD-L∞)."""

    memoryless = True

    def step(self, w, grad, rows):
        return w - self.size(rows, w) * grad.sign()


class NormalizedGradient(SizedStep):
    """w ← w − α·g/‖g‖₂: steepest descent for the L2 geometry (PGD-L2)."""

    memoryless = True

    def step(self, w, grad, rows):
        norm = _per_sample_norm(grad, 2).clamp_min(1e-12)
        return w - self.size(rows, w) * grad / _bcast(norm, grad)


def steepest(p: float, step_size: StepSize) -> SizedStep:
    """The steepest-descent rule for an Lp geometry."""
    if p == float("inf"):
        return Sign(step_size)
    if p == 2:
        return NormalizedGradient(step_size)
    raise ValueError(f"no steepest-descent step for p={p}; use p=2 or inf")


class Momentum(SizedStep):
    """MI-FGSM (Dong et al. 2018): accumulate g/mean|g| with decay μ, then take a sign step."""

    def __init__(self, step_size: StepSize, decay: float = 1.0):
        super().__init__(step_size)
        self.decay = decay
        self._velocity: Optional[Tensor] = None

    def reset(self, w, samples):
        super().reset(w, samples)
        self._velocity = torch.zeros_like(w)

    def step(self, w, grad, rows):
        scale = grad.abs().reshape(grad.shape[0], -1).mean(dim=1).clamp_min(1e-12)
        v = grad / _bcast(scale, grad) + self.decay * _rows(self._velocity, rows)
        if rows is None:
            self._velocity = v
        else:
            self._velocity[rows] = v
        return w - self.size(rows, w) * v.sign()


class Adam(SizedStep):
    """Adam (Kingma & Ba 2015) with moments and step counters kept per row."""

    def __init__(self, step_size: StepSize = 0.01, betas: tuple = (0.9, 0.999), eps: float = 1e-8):
        super().__init__(step_size)
        self.betas, self.eps = betas, eps

    def reset(self, w, samples):
        super().reset(w, samples)
        self._m = torch.zeros_like(w)
        self._v = torch.zeros_like(w)
        self._t = torch.zeros(w.shape[0], device=w.device, dtype=w.dtype)

    def step(self, w, grad, rows):
        b1, b2 = self.betas
        m = b1 * _rows(self._m, rows) + (1 - b1) * grad
        v = b2 * _rows(self._v, rows) + (1 - b2) * grad * grad
        t = _rows(self._t, rows) + 1
        if rows is None:
            self._m, self._v, self._t = m, v, t
        else:
            self._m[rows], self._v[rows], self._t[rows] = m, v, t
        m_hat = m / _bcast(1 - b1 ** t, m)
        v_hat = v / _bcast(1 - b2 ** t, v)
        return w - self.size(rows, w) * m_hat / (v_hat.sqrt() + self.eps)


@dataclass
class LBFGSB:
    """Quasi-Newton with box bounds through SciPy's ``fmin_l_bfgs_b`` (Szegedy et al. 2013).

    It is not a per-step rule: :func:`robustgan.optim.optimize` hands the whole run to SciPy,
    which calls back into the same evaluation (forward, objective, best-so-far) as every other rule.
    """

    memory: int = 10
    factr: float = 1e7  # SciPy's relative-decrease stopping factor


def __getattr__(name: str):
    if name == "Normalized":  # renamed: robustgan.models.Normalized is the normalising model wrapper
        warnings.warn("robustgan.optim.steps.Normalized is deprecated; use NormalizedGradient",
                      DeprecationWarning, stacklevel=2)
        return NormalizedGradient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
