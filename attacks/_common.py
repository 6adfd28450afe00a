"""What every attack shares: input checks, the objective by name, success tests, the result type."""
from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from typing import Callable, Optional, TypeVar, Union

import torch
from torch import Tensor, nn

from robustgan.objectives import DLR, CrossEntropy, Margin, Objective, TargetMargin
from robustgan.optim import Evaluation, lp_norm, parse_norm
from robustgan.validation import check_dtype, check_eps, check_images, check_labels, check_positive_int, clean_logits


@dataclass
class AttackResult:
    """Adversarial images plus, per sample, whether they fool the model and how far they moved."""

    x: Tensor
    success: Tensor
    distance: Tensor
    steps: Optional[Tensor] = None
    norm: float = float("inf")
    forwards: Optional[Tensor] = None  # per sample: model forward passes the attack spent on it
    backwards: Optional[Tensor] = None  # per sample: input-gradient (backward) passes

    @property
    def queries(self) -> Optional[Tensor]:
        """Per sample: forward plus backward passes, the cost measure attacks are compared at."""
        if self.forwards is None:
            return None
        return self.forwards + (0 if self.backwards is None else self.backwards)

    def __iter__(self):  # allows ``x_adv, success, *_ = attack(...)``
        return iter((self.x, self.success, self.distance, self.steps))


class Queries:
    """Per-sample forward and backward passes, summed over every optimisation an attack runs."""

    def __init__(self, n: int, device: torch.device):
        self.forwards = torch.zeros(n, dtype=torch.long, device=device)
        self.backwards = torch.zeros(n, dtype=torch.long, device=device)
        self.steps = torch.zeros(n, dtype=torch.long, device=device)  # summed by add_run

    def add_run(self, res) -> "Queries":
        """A whole run over every sample (a penalty-search round): its passes and its steps."""
        self.steps += res.steps.to(self.steps.device).long()
        return self.add(res)

    def add(self, res, index: Optional[Tensor] = None) -> "Queries":
        """Add an :class:`~robustgan.optim.OptimizeResult`'s counts (of the samples ``index``)."""
        for mine, theirs in ((self.forwards, res.forwards), (self.backwards, res.backwards)):
            if theirs is None:
                continue
            if index is None:
                mine += theirs.to(mine.device)
            else:
                mine.index_add_(0, index.to(mine.device), theirs.to(mine.device))
        return self

    def add_forward(self, index: Optional[Tensor] = None, backward: bool = False) -> "Queries":
        """One forward pass (and its backward when ``backward``) of the samples ``index`` (default all)."""
        for store in (self.forwards, self.backwards) if backward else (self.forwards,):
            if index is None:
                store += 1
            else:
                store.index_add_(0, index.to(store.device), torch.ones_like(index, dtype=store.dtype))
        return self


_NO_EPS = object()  # prepare's default: the attack has no radius (eps=None is a bad radius, not "none")


def prepare(model: nn.Module, x: Tensor, y: Tensor, target: Optional[Tensor], eps=_NO_EPS,
            with_logits: bool = False, clean_pass: Union[bool, str] = True):
    """Validate the call; returns (y, target, eps) on x's device (and the clean logits, with
    ``with_logits``, for an attack that needs them: no second clean pass). The clean forward pass
    checks the model's outputs on every input: non-finite clean logits raise instead of counting
    as fooled. ``clean_pass="first"`` runs it on the first input only, for the class count the
    labels are checked against; the attack then calls :func:`refuse_nonfinite_clean` after its run.
    ``clean_pass=False`` is for an attack whose run checks the logits itself (DeepFool, whose first
    evaluation is at the clean input): the loop's first evaluation checks the labels' range."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_dtype(check_images(x), [model])
    if y is None and target is not None:  # a targeted attack needs no true labels: y=None is allowed
        y = target
    logits = clean_logits(model, x[:1] if clean_pass == "first" else x) if clean_pass else None
    classes = torch.iinfo(torch.int64).max if logits is None else logits.shape[1]
    if clean_pass == "first":
        logits = None
    y = check_labels(y, x.shape[0], classes).to(x.device)
    if target is not None:
        target = check_labels(target, x.shape[0], classes, name="target").to(x.device)
    eps = None if eps is _NO_EPS else check_eps(eps, x.shape[0])
    return (y, target, eps, logits) if with_logits else (y, target, eps)


def refuse_nonfinite_clean(model: nn.Module, x: Tensor, loss: Tensor) -> None:
    """After a run that skipped the clean pass: the samples whose kept loss is not finite (every
    evaluation of them gave NaN or infinite logits) get the clean pass now, which raises when their
    clean logits are not finite either. A sound model costs nothing here: PGD's budget goes to its
    steps, not to a forward pass whose only purpose is this check."""
    bad = ~torch.isfinite(loss)
    if bool(bad.any()):
        clean_logits(model, x[bad.to(x.device)])


def adversarial_loss(kind: str, targeted: bool) -> Objective:
    """The loss an attack *minimises*: ascend CE/DLR/margin of the label, or descend toward a target."""
    kind = kind.lower()
    if kind == "ce":
        return CrossEntropy() if targeted else -CrossEntropy()
    if kind in ("margin", "cw"):
        return TargetMargin() if targeted else Margin(confidence=float("inf"))
    if kind == "dlr":
        if targeted:
            raise ValueError("use the targeted DLR of the APGD-T attack; plain DLR is untargeted")
        return -DLR()
    raise ValueError(f"unknown loss {kind!r}: use 'ce', 'margin' or 'dlr'")


def misclassified(logits: Tensor, label: Tensor, targeted: bool = False) -> Tensor:
    """The one success test of every attack: the target class wins (``targeted``), or the label no
    longer does. Rows with a NaN or infinite logit never succeed: their argmax is arbitrary."""
    pred = logits.argmax(dim=1)
    hit = pred == label if targeted else pred != label
    return hit & torch.isfinite(logits).all(dim=1)


def fooled(targeted: bool):
    """Success test on the logits: the target class wins, or the label no longer does."""
    def test(ev: Evaluation) -> Tensor:
        return misclassified(ev.logits, ev.target, targeted)
    return test


def fooled_within(p: float, radius: Tensor):
    """Success test for attacks that may leave the ball on the way (FAB, L1-APGD's 3ε/2ε phases):
    misclassified *and* within each sample's radius ``radius[sample]``."""
    def test(ev: Evaluation) -> Tensor:
        close = lp_norm(ev.x - ev.origin, p) <= radius[ev.samples] * (1 + 1e-6)
        return misclassified(ev.logits, ev.target) & close
    return test


def smallest_success(p: float, success):
    """A ``score`` for minimal-distortion runs: among successful iterates the Lp (p = 0: L0)
    distance, among the others the objective (how far from success, where a search continues)."""
    from robustgan.optim.rules.minimal_norm import norm_of

    def score(ev: Evaluation, loss: Tensor) -> Tensor:
        return torch.where(success(ev).bool(), norm_of(ev.x - ev.origin, p), loss)
    return score


@torch.no_grad()
def finish(model: nn.Module, x_adv: Tensor, x: Tensor, y: Tensor, target: Optional[Tensor],
           norm: float, steps: Optional[Tensor] = None, success: Optional[Tensor] = None,
           queries=None) -> AttackResult:
    """Package the result; without ``success`` from the optimiser (which judged the kept iterates
    on their own forward pass), judge the images with one forward pass (model state preserved).

    ``queries``: a :class:`Queries` or the :class:`~robustgan.optim.OptimizeResult` whose counts
    the result reports (the judging pass is added to them)."""
    from robustgan.optim import frozen

    if queries is not None and not isinstance(queries, Queries):
        queries = Queries(x.shape[0], x.device).add(queries)
    if success is None:
        with frozen([model]):
            logits = model(x_adv)
        success = misclassified(logits, y if target is None else target, target is not None)
        if queries is not None:
            queries.add_forward()
    fw, bw = (None, None) if queries is None else (queries.forwards, queries.backwards)
    return AttackResult(x_adv, success, lp_norm(x_adv - x, norm), steps, norm, fw, bw)


def budget_steps(steps: int, queries: Optional[int], runs: int = 1, per_step: int = 2) -> int:
    """The step count per run that keeps every sample within ``queries`` model passes.

    A run of k steps costs each sample ``per_step`` passes a step (a gradient attack: one forward
    and one backward; Square: one forward) plus one pass that scores the start or the last
    iterate: per_step·k + 1 queries. An attack made of ``runs`` runs (CW's and L-BFGS's penalty
    rounds) splits the budget evenly, so Q queries allow ⌊(Q/runs − 1)/per_step⌋ steps per run,
    never more than ``steps``.
    """
    steps = check_positive_int(steps, "steps", minimum=0)
    if queries is None:
        return steps
    queries = check_positive_int(queries, "queries", minimum=1)
    return min(steps, max(queries // runs - 1, 0) // per_step)


def generator_for(seed: Optional[int], generator: Optional[torch.Generator]) -> Optional[torch.Generator]:
    """The random numbers of an attack: an explicit ``generator`` wins; else a fresh one seeded with
    ``seed`` (the same call gives the same bits); ``seed=None`` (None returned) draws from torch's
    global RNG, as a training loop that wants a new random start every batch does."""
    if generator is not None:
        return generator
    if seed is None:
        return None
    return torch.Generator().manual_seed(seed)


Attack = TypeVar("Attack", bound=Callable)


def renamed(**old_to_new: str) -> Callable[[Attack], Attack]:
    """Keep an argument's old name working for one release: ``@renamed(max_iter="steps")`` passes
    ``max_iter=`` on as ``steps=`` with a :class:`DeprecationWarning` naming the new name (pointing
    at the caller's line); giving both names is a :class:`TypeError`. The signature shown by
    :func:`inspect.signature` is the new one."""
    def wrap(fn: Attack) -> Attack:
        @functools.wraps(fn)
        def call(*args, **kwargs):
            for old, new in old_to_new.items():
                if old not in kwargs:
                    continue
                if new in kwargs:
                    raise TypeError(f"{fn.__name__}() got both {old!r} and {new!r}; {old!r} is the old name "
                                    f"of {new!r}, pass only {new!r}")
                warnings.warn(f"{fn.__name__}(): {old!r} is renamed {new!r}; the old name will be removed "
                              "in the next release", DeprecationWarning, stacklevel=2)
                kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)
        call.renamed = dict(old_to_new)  # type: ignore[attr-defined]  # old -> new, for docs and tests
        return call  # type: ignore[return-value]
    return wrap


Norm = Union[str, float]
__all__ = ["AttackResult", "Norm", "Queries", "adversarial_loss", "finish", "fooled", "fooled_within", "generator_for", "misclassified", "parse_norm", "prepare", "budget_steps", "renamed", "smallest_success"]
