"""What one optimisation run knows: the rows of the batch, how to evaluate them, and the best so far.

Restarts are a batch dimension: row ``r·N + s`` is restart ``r`` of sample ``s``. Both drivers (the
first-order loop and the SciPy L-BFGS-B driver) evaluate rows through :class:`RunState`, so the
forward pass, the objective, the success test and best-so-far tracking exist once.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import torch
from torch import Tensor, nn

from ..validation import check_labels, run_model
from .layout import to_channels_last, wants_channels_last
from .options import LoopOptions, autocast_for, compiled
from .parametrizations import Parametrization
from .taps import tapped


@dataclass
class Evaluation:
    """Everything an objective may look at for a set of rows."""

    x: Tensor  # model input, (rows, ...)
    logits: Tensor  # model output
    origin: Tensor  # the starting image of each row's sample
    samples: Tensor  # row -> sample index
    target: Optional[Tensor] = None  # per-row label or target class
    features: Dict[str, Tensor] = field(default_factory=dict)
    variable: Optional[Tensor] = None  # the optimisation variable of the rows (e.g. a generator's latent)
    active: Optional[Tensor] = None  # masked runs: the rows whose results count (None: all of them)


@dataclass
class OptimizeResult:
    """Per sample: the kept input, its objective value and score, success flag and steps used."""

    x: Tensor
    loss: Tensor
    score: Tensor
    success: Optional[Tensor]
    steps: Tensor
    trace: List[float]  # mean objective of the active rows at each step
    evaluations: int = 0  # forward passes per row, summed over rows
    variable: Optional[Tensor] = None  # the kept variable per sample, for parametrisations with keep_variable
    forwards: Optional[Tensor] = None  # per sample: model forward passes over all its rows (restarts included)
    backwards: Optional[Tensor] = None  # per sample: backward passes (gradients of the input) over all its rows


def _looks_like_probabilities(logits: Tensor) -> bool:
    if logits.dim() != 2 or logits.shape[1] < 2:
        return False
    inside = bool(((logits >= 0) & (logits <= 1)).all())
    return inside and bool(torch.allclose(logits.sum(dim=1), torch.ones_like(logits[:, 0]), atol=1e-4))


def _check_outputs(logits, target: Optional[Tensor]) -> None:
    """The first forward pass of a run: the model returns a tensor, and integer targets are class
    indices of its (N, classes) output, so a bad label fails here and not in an IndexError."""
    if not isinstance(logits, Tensor):
        raise TypeError(f"the model must return a tensor, got {type(logits).__name__} "
                        "(wrap it so that forward returns one tensor, e.g. the logits)")
    labels = target is not None and target.dim() == 1 and not target.is_floating_point()
    if labels and logits.dim() == 2 and target.dtype != torch.bool:
        check_labels(target, target.shape[0], logits.shape[1], name="target")


def _layers_read_by(objective: Callable[[Evaluation], Tensor]) -> List[str]:
    """The layers to tap: an :class:`~robustgan.objectives.Objective` declares them in ``layers``;
    a plain callable objective (accepted too) reads none."""
    return sorted(getattr(objective, "layers", ()) or ())


def _take(t: Optional[Tensor], rows: Optional[Tensor]) -> Optional[Tensor]:
    if t is None or rows is None:
        return t
    return t[rows]


class RunState:
    def __init__(
        self,
        model: nn.Module,
        objective: Callable[[Evaluation], Tensor],
        parametrization: Parametrization,
        origin: Tensor,
        samples: Tensor,
        target: Optional[Tensor],
        success: Optional[Callable[[Evaluation], Tensor]],
        score: Optional[Callable[[Evaluation, Tensor], Tensor]],
        keep: str,
        transform: Optional[Callable[[Tensor], Tensor]] = None,
        options: Optional[LoopOptions] = None,
        seeks_boundary: bool = False,
    ):
        if keep not in ("best", "last", "final"):
            raise ValueError(f"keep must be 'best', 'last' or 'final', got {keep!r}")
        if keep == "final" and samples.shape[0] != origin.shape[0]:
            raise ValueError("keep='final' returns an unscored iterate, so it cannot pick among restarts")
        self.model, self.objective, self.param = model, objective, parametrization
        self.origin, self.samples, self.target = origin, samples, target
        self.success_fn, self.score_fn, self.keep = success, score, keep
        self.transform = transform
        self.options = LoopOptions() if options is None else options
        self.layers = _layers_read_by(objective)
        self.net = compiled(model) if self.options.compile else model  # what the forward pass calls
        # channels-last weights and inputs where that pays (the loop converts the weights for the run)
        self.channels_last = wants_channels_last(model, origin, self.options.channels_last, bool(self.layers),
                                                 seeks_boundary)
        self.origin_rows = origin[samples]  # gathered once; steps index it only when rows retire
        rows = samples.shape[0]
        device = origin.device
        self.best_x: Optional[Tensor] = None
        self.keep_variable = bool(parametrization.keep_variable)
        self.best_w: Optional[Tensor] = None
        # losses are kept in at least float32 and in float64 for a float64 run (never narrower than the input)
        stats = torch.promote_types(origin.dtype, torch.float32) if origin.is_floating_point() else torch.float32
        self.best_loss = torch.full((rows,), float("inf"), device=device, dtype=stats)
        self.best_score = torch.full((rows,), float("inf"), device=device, dtype=stats)
        self.best_success = torch.zeros(rows, dtype=torch.bool, device=device)
        n_samples = origin.shape[0]
        self.forwards = torch.zeros(n_samples, dtype=torch.long, device=device)
        self.backwards = torch.zeros(n_samples, dtype=torch.long, device=device)
        self._checked_outputs = False

    def inputs(self, w: Tensor, rows: Optional[Tensor]) -> Tensor:
        """The model inputs of the rows' variables."""
        return self.param.to_input_for(w, _take(self.samples, rows))

    def _forward(self, x: Tensor):
        """The model on the rows' inputs (under autocast with ``amp``: the logits come back in the
        input's precision); the run's first call names an input the model cannot take."""
        if self.channels_last:
            x = to_channels_last(x)
        with autocast_for(x.device, self.options.amp):
            out = self.net(x) if self._checked_outputs else run_model(self.net, x, "the model input made from start")
        if self.options.amp is not None and isinstance(out, Tensor) and out.is_floating_point():
            out = out.to(torch.promote_types(x.dtype, torch.float32))
        return out

    def evaluate(self, w: Tensor, rows: Optional[Tensor], active: Optional[Tensor] = None) -> tuple:
        """Forward the rows' variables; returns (evaluation, per-row loss). Differentiable in ``w``.
        ``active`` (masked runs): the rows whose passes count; the others' results are discarded."""
        samples = _take(self.samples, rows)
        x = self.param.to_input_for(w, samples)
        seen = x if self.transform is None else self.transform(x)  # what the model sees (e.g. jittered)
        if self.layers:
            with tapped(self.model, self.layers) as feats:
                logits = self._forward(seen)
            features = dict(feats)
        else:
            logits, features = self._forward(seen), {}
        if not self._checked_outputs:
            self._checked_outputs = True
            _check_outputs(logits, _take(self.target, rows))
            if _looks_like_probabilities(logits.detach()):
                warnings.warn(
                    "the model's outputs are non-negative and sum to 1: it seems to end in softmax. "
                    "Attack the logits (remove the final softmax) or the gradients will be weak.",
                    stacklevel=4,
                )
        ev = Evaluation(
            x=x, logits=logits, origin=_take(self.origin_rows, rows), samples=samples,
            target=_take(self.target, rows), features=features, variable=w, active=active,
        )
        loss = self.objective(ev)
        if not isinstance(loss, Tensor):
            raise TypeError(f"an objective must return a tensor (one value per row), got {type(loss).__name__}")
        if loss.dim() != 1 or loss.shape[0] != w.shape[0]:
            raise ValueError(f"an objective must return one value per row, got shape {tuple(loss.shape)}")
        counted = torch.ones_like(samples) if active is None else active.to(samples.dtype)
        self.forwards.index_add_(0, samples, counted)
        if torch.is_grad_enabled() and w.requires_grad:  # the caller differentiates this evaluation
            self.backwards.index_add_(0, samples, counted)
        return ev, loss

    @torch.no_grad()
    def record(self, ev: Evaluation, loss: Tensor, rows: Optional[Tensor],
               active: Optional[Tensor] = None) -> Optional[Tensor]:
        """Keep the best iterate per row (of the ``active`` ones, in a masked run); return the rows'
        success flags (or None)."""
        loss = loss.detach().to(self.best_loss.dtype)
        score = loss if self.score_fn is None else self.score_fn(ev, loss).detach().to(self.best_score.dtype)
        succ = None if self.success_fn is None else self.success_fn(ev).detach().bool()
        if self.best_x is None:
            self.best_x = torch.empty((self.samples.shape[0], *ev.x.shape[1:]), device=ev.x.device, dtype=ev.x.dtype)
            if self.best_x.shape == self.origin_rows.shape:
                self.best_x.copy_(self.origin_rows)
            else:  # origin lives in the variable's space (a ball around a latent z0): nothing to copy
                self.best_x.zero_()
        b_score, b_succ = _take(self.best_score, rows), _take(self.best_success, rows)
        if self.keep in ("last", "final"):
            better = torch.ones_like(score, dtype=torch.bool)
        elif succ is None:
            better = score < b_score
        else:
            better = (succ & ~b_succ) | ((succ == b_succ) & (score < b_score))
        if active is not None:
            better = better & active
        idx = torch.arange(score.shape[0], device=score.device) if rows is None else rows
        idx = idx[better]
        self.best_x[idx] = ev.x.detach()[better]
        if self.keep_variable and ev.variable is not None:
            if self.best_w is None:
                self.best_w = torch.zeros((self.samples.shape[0], *ev.variable.shape[1:]),
                                          device=ev.variable.device, dtype=ev.variable.dtype)
            self.best_w[idx] = ev.variable.detach()[better]
        self.best_loss[idx] = loss[better]
        self.best_score[idx] = score[better]
        if succ is not None:
            self.best_success[idx] = succ[better]
        return succ

    @torch.no_grad()
    def keep_final(self, x: Tensor, rows: Optional[Tensor], active: Optional[Tensor] = None) -> None:
        """keep='final': store the rows' last iterate without a forward pass (its loss is unknown:
        NaN); in a masked run only the ``active`` rows' (the others were kept when they retired)."""
        if self.best_x is None:
            self.best_x = torch.zeros((self.samples.shape[0], *x.shape[1:]), device=x.device, dtype=x.dtype)
        idx = torch.arange(x.shape[0], device=x.device) if rows is None else rows
        if active is not None:
            idx, x = idx[active], x[active]
        self.best_x[idx] = x.detach()
        self.best_loss[idx] = float("nan")
        self.best_score[idx] = float("nan")

    def result(self, n: int, steps: Tensor, trace: List[float]) -> OptimizeResult:
        """Reduce restarts: per sample, a successful row with the lowest score, else the lowest score."""
        r = self.samples.shape[0] // n
        score = self.best_score.reshape(r, n)
        succ = self.best_success.reshape(r, n)
        pick = score.argmin(dim=0)
        if self.success_fn is not None:
            among = torch.where(succ, score, torch.full_like(score, float("inf"))).argmin(dim=0)
            pick = torch.where(succ.any(dim=0), among, pick)
        row = pick * n + torch.arange(n, device=pick.device)
        return OptimizeResult(
            x=self.best_x[row],
            loss=self.best_loss[row],
            score=self.best_score[row],
            success=self.best_success[row] if self.success_fn is not None and self.keep != "final" else None,
            steps=steps,
            trace=trace,
            evaluations=int(self.forwards.sum()),  # forward passes per row, summed over rows
            variable=self.best_w[row] if self.best_w is not None else None,
            forwards=self.forwards.clone(),
            backwards=self.backwards.clone(),
        )
