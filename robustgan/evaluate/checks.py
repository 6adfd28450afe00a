"""Self-checks that tell a real robustness number from an artefact of the evaluation.

After Carlini et al. (2019), "On Evaluating Adversarial Robustness", and AutoAttack's own flags.
Every check returns a :class:`Check`; a failed one carries the explanation that goes into the
report. The model checks are cheap and look at the model alone; the attack checks re-run small,
independent attacks on a subset of points.
"""
from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import attacks as zoo

from ..optim import frozen
from .sweep import predict


@dataclass
class Check:
    name: str
    passed: bool
    detail: str
    explanation: str = ""

    def to_dict(self) -> Dict:
        return asdict(self)


# ---- model checks -----------------------------------------------------------------------------

@torch.no_grad()
def check_randomness(model: nn.Module, x: Tensor) -> Check:
    with frozen([model]):
        a, b = model(x), model(x)
    diff = float((a - b).abs().max())
    return Check("deterministic model", diff <= 1e-5 * max(1.0, float(a.abs().max())),
                 f"max |logits₁ − logits₂| over two identical calls = {diff:.3g}",
                 "The model's outputs change between identical calls: it is randomised. Gradient attacks "
                 "then see noisy gradients; evaluate with expectation over transformation (EOT) — average "
                 "the gradient over several calls — or the robust accuracy is overestimated.")


@torch.no_grad()
def check_logits(model: nn.Module, x: Tensor) -> Check:
    with frozen([model]):
        out = model(x)
    probs = bool(((out >= 0) & (out <= 1)).all()) and bool(torch.allclose(out.sum(1), torch.ones_like(out[:, 0]), atol=1e-4))
    return Check("outputs are logits", not probs,
                 "outputs are non-negative and sum to 1" if probs else "outputs are unnormalised scores",
                 "The model ends in a softmax: cross-entropy on probabilities saturates and its gradients "
                 "vanish, so gradient attacks look weaker than they are. Evaluate the logits (drop the "
                 "final softmax).")


def check_zero_gradients(model: nn.Module, x: Tensor, y: Tensor, tolerance: float = 0.01) -> Check:
    with frozen([model]):
        xg = x.detach().clone().requires_grad_(True)
        loss = F.cross_entropy(model(xg), y, reduction="sum")
        grad, = torch.autograd.grad(loss, xg)
    zero = (grad.reshape(len(x), -1).abs().amax(dim=1) == 0)
    share = float(zero.float().mean())
    return Check("non-zero input gradients", share <= tolerance,
                 f"{int(zero.sum())} of {len(x)} points have an exactly zero input gradient",
                 "Many points have a zero gradient: the model masks its gradients (a non-differentiable "
                 "or saturating layer). Gradient attacks cannot move these points; use BPDA / a "
                 "differentiable approximation, or the score-based Square attack.")


class _AutogradSpy:
    """Counts calls of autograd's entry points made while a forward pass runs."""

    NAMES = {"grad", "backward", "_make_grads", "run_backward"}

    def __init__(self):
        self.calls = 0

    def __call__(self, frame, event, arg):
        if event == "call" and frame.f_code.co_name in self.NAMES and "autograd" in frame.f_code.co_filename:
            self.calls += 1
        elif event == "c_call" and getattr(arg, "__name__", "") in self.NAMES:
            self.calls += 1


def check_forward_autograd(model: nn.Module, x: Tensor) -> Check:
    spy = _AutogradSpy()
    with frozen([model]):
        previous = sys.getprofile()
        sys.setprofile(spy)
        try:
            model(x)
        finally:
            sys.setprofile(previous)
    return Check("forward pass does not call autograd", spy.calls == 0,
                 f"{spy.calls} autograd call(s) during one forward pass",
                 "The forward pass computes gradients itself (a test-time optimisation or purification "
                 "defence). Its robustness must be evaluated with adaptive attacks that account for the "
                 "inner optimisation (BPDA, EOT); standard gradient attacks are not enough.")


def model_checks(model: nn.Module, x: Tensor, y: Tensor) -> List[Check]:
    return [check_randomness(model, x), check_logits(model, x), check_zero_gradients(model, x, y),
            check_forward_autograd(model, x[:2])]


# ---- attack checks ----------------------------------------------------------------------------

def _acc(model: nn.Module, result, y: Tensor) -> float:
    return float((~result.success).float().mean())


def check_monotone_eps(model: nn.Module, x: Tensor, y: Tensor, norm: str, eps: Sequence[float], steps: int,
                       seed: int, tolerance: float = 0.02) -> Check:
    """Independent PGD runs at each ε (not survivors-only, which would be monotone by construction)."""
    accs = []
    for e in sorted(eps):
        r = zoo.pgd(model, x, y, e, norm=norm, steps=steps, early_stop=True, seed=seed)
        accs.append(_acc(model, r, y))
    rises = [(a, b) for a, b in zip(accs, accs[1:]) if b > a + tolerance]
    return Check("robust accuracy falls with ε", not rises,
                 "independent PGD-{} at ε = {}: {}".format(
                     steps, ", ".join(f"{e:g}" for e in sorted(eps)), ", ".join(f"{100 * a:.1f}%" for a in accs)),
                 "Robust accuracy rises with a larger ε although every point fooled in a small ball is "
                 "fooled in a larger one: the attack is not converging (masked or noisy gradients, too few "
                 "steps or a step size that does not scale with ε).")


def check_more_steps(model: nn.Module, x: Tensor, y: Tensor, norm: str, eps: float, steps: int, seed: int,
                     tolerance: float = 0.02) -> Check:
    few = _acc(model, zoo.pgd(model, x, y, eps, norm=norm, steps=steps, early_stop=True, seed=seed), y)
    many = _acc(model, zoo.pgd(model, x, y, eps, norm=norm, steps=5 * steps, early_stop=True, seed=seed), y)
    return Check("more steps do not help the model", many <= few + tolerance,
                 f"PGD at ε={eps:g}: {steps} steps → {100 * few:.1f}%, {5 * steps} steps → {100 * many:.1f}%",
                 "More attack iterations give a higher robust accuracy: the optimisation is unstable; the "
                 "reported number is not a converged attack.")


def check_unbounded(model: nn.Module, x: Tensor, y: Tensor, norm: str, steps: int, seed: int) -> Check:
    big = 1.0 if norm == "linf" else float(x[0].numel()) ** 0.5
    r = zoo.pgd(model, x, y, big, norm=norm, steps=steps, early_stop=True, seed=seed)
    acc = _acc(model, r, y)
    return Check("an unbounded attack reaches 0%", acc == 0.0,
                 f"PGD-{steps} with ε = {big:g} (the whole box): robust accuracy {100 * acc:.1f}%",
                 "With no limit on the perturbation every point can be turned into an image of another "
                 "class, so the attack should reach 0%. It does not: gradients are masked or the attack is "
                 "broken, and every robust accuracy in this report is an overestimate.")


def check_gradient_free(model: nn.Module, x: Tensor, y: Tensor, norm: str, eps: float, steps: int,
                        queries: int, seed: int, tolerance: float = 0.02) -> Check:
    grad = zoo.pgd(model, x, y, eps, norm=norm, steps=steps, early_stop=True, seed=seed)
    free = zoo.square(model, x, y, eps, norm=norm, steps=queries, seed=seed)  # one query per step
    a_grad, a_free = _acc(model, grad, y), _acc(model, free, y)
    return Check("gradient attacks beat a gradient-free one", a_free >= a_grad - tolerance,
                 f"ε={eps:g}: PGD-{steps} {100 * a_grad:.1f}%, Square ({queries} queries) {100 * a_free:.1f}%",
                 "A score-based attack that never sees a gradient breaks clearly more points than the "
                 "gradient attack: the gradients are masked or obfuscated. Trust the lower number, and "
                 "prefer attacks that do not rely on the model's gradients.")


@torch.no_grad()
def _mean_cross_entropy(model: nn.Module, x: Tensor, y: Tensor) -> float:
    with frozen([model]):
        return float(F.cross_entropy(model(x), y))


def check_loss_rises(model: nn.Module, x: Tensor, y: Tensor, norm: str, eps: float, steps: int, seed: int) -> Check:
    """PGD from the input itself (no random start: the first point is the clean one), its loss
    read at the clean point and at the last iterate."""
    last = zoo.pgd(model, x, y, eps, norm=norm, steps=steps, random_start=False, keep="last").x
    first, last = _mean_cross_entropy(model, x, y), _mean_cross_entropy(model, last, y)
    return Check("the attack's loss rises", last > first,
                 f"PGD-{steps} at ε={eps:g}: mean cross-entropy {first:.4g} → {last:.4g}",
                 "The attack does not increase the loss it ascends: its gradients carry no useful signal "
                 "(masked gradients, a wrong loss or a broken model wrapper).")


def attack_check_thunks(model: nn.Module, x: Tensor, y: Tensor, norm: str, eps: Sequence[float], steps: int = 20,
                        queries: int = 1000, seed: int = 0) -> List[Callable[[], Check]]:
    """The attack checks as separate calls (so a job can run, save and share them one by one),
    on the correctly classified points only (robust accuracy relative to them)."""
    with torch.no_grad():
        keep = predict(model, x, 500) == y
    x, y = x[keep], y[keep]
    if len(x) == 0:
        return [lambda: Check("attack checks", False, "no correctly classified points to check",
                              "The model misclassifies every checked point; nothing can be said about robustness.")]
    eps = sorted(eps)
    mid = eps[len(eps) // 2]
    return [
        lambda: check_monotone_eps(model, x, y, norm, eps, steps, seed),
        lambda: check_more_steps(model, x, y, norm, mid, steps, seed),
        lambda: check_unbounded(model, x, y, norm, 5 * steps, seed),
        lambda: check_gradient_free(model, x, y, norm, mid, steps, queries, seed),
        lambda: check_loss_rises(model, x, y, norm, mid, steps, seed),
    ]


def attack_checks(model: nn.Module, x: Tensor, y: Tensor, norm: str, eps: Sequence[float], steps: int = 20,
                  queries: int = 1000, seed: int = 0) -> List[Check]:
    """Run on correctly classified points only (robust accuracy relative to them)."""
    return [run() for run in attack_check_thunks(model, x, y, norm, eps, steps, queries, seed)]


def check_envelope_bounds_sweeps(norm: str, envelope: Tensor, index: Tensor, sweeps: List[Dict]) -> Check:
    """On the points the minimal-norm attacks ran on, the envelope's robust accuracy at a sweep's ε
    must not exceed the sweep's on the same points (beyond one point): a "minimal" attack weaker
    than a fixed-ε one bounds nothing."""
    above = []
    m = len(index)
    for s in sweeps:
        res = s["_res"]
        for k, e in enumerate(res.eps):
            sweep_robust = int(res.robust[k][index].sum())
            env_robust = int((envelope > e).sum())
            if env_robust > sweep_robust + 1:
                above.append(f"{s['attack']} ε={e:g}: envelope {100 * env_robust / m:.1f}% > {100 * sweep_robust / m:.1f}%")
    return Check("the minimal-norm envelope bounds the sweeps", not above,
                 f"on the {m} points of the curve: " + ("; ".join(above) if above else
                                                         "the envelope lies at or below every sweep point"),
                 "At some ε a fixed-ε attack breaks points the minimal-norm attacks did not break within "
                 "that ε: the minimal-norm attacks did not converge (too few steps or queries, masked "
                 "gradients). The headline takes the lower number; give the minimal-norm attacks more "
                 "budget (--minimal-queries) or add attacks to the envelope.")


GRADIENT_CHECKS = ("deterministic model", "outputs are logits", "non-zero input gradients",
                   "forward pass does not call autograd", "robust accuracy falls with ε",
                   "more steps do not help the model", "an unbounded attack reaches 0%",
                   "gradient attacks beat a gradient-free one", "the attack's loss rises")


def masked_norms(checks: List[Dict], norms: Sequence[str]) -> List[str]:
    """The threats whose gradient-masking checks failed (a failed model check taints every norm)."""
    bad = [c for c in checks if not c["passed"] and c["name"] in GRADIENT_CHECKS]
    if any(c.get("norm") is None for c in bad):
        return list(norms)
    return [n for n in norms if any(c.get("norm") == n for c in bad)]


def failed(checks: List[Check]) -> List[Check]:
    return [c for c in checks if not c.passed]


def checks_to_json(checks: List[Check], norm: Optional[str] = None) -> List[Dict]:
    return [dict(c.to_dict(), norm=norm) for c in checks]
