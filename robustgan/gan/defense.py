"""Defense-GAN (Samangouei et al. 2018): classify the projection G(z*) of an input on a generator's range.

z* = argmin_z ‖G(z) − x‖² by L Adam steps from R random starts (GAN inversion, the same batched
optimiser run as everywhere else); the classifier sees G(z*) instead of x. Paper defaults for
MNIST: L = 200, R = 10.

The projection is an inner optimisation, so a gradient attack that differentiates the defended
model as written sees no gradient at all (here: exactly zero) — a robust accuracy measured that
way says nothing (Athalye, Carlini & Wagner 2018). :class:`DefenseGAN` therefore has a
``gradient`` mode for attackers: ``"bpda"`` passes the gradient through the projection as if it
were the identity (Backward Pass Differentiable Approximation), and ``eot`` averages the logits
over several independent random projections (Expectation over Transformation). Any attack of the
library can then be run against it; :func:`evaluate_defense` does so and reports all of it.
"""
from __future__ import annotations

import time
from typing import Any, Dict, Optional

import torch
from torch import Tensor, nn

from ..models.predict import predict
from ..optim import frozen
from .inversion.invert import invert

GRADIENTS = ("none", "bpda")


class DefenseGAN(nn.Module):
    """x ↦ classifier(G(z*(x))), z* from ``restarts`` × ``steps`` Adam steps of GAN inversion.

    Args:
        classifier: logits model on images in [0, 1].
        generator: an unconditional generator of the same image shape.
        steps, restarts: L and R of the paper (defaults 200 and 10).
        lr: Adam step size on z.
        gradient: what a gradient attack sees through the projection: ``"none"`` (zero, the
            defence as written) or ``"bpda"`` (the identity: dG(z*(x))/dx ≈ I).
        eot: average the logits over this many independent projections (for attackers).
        seed: the projection's random starts; every forward call draws fresh ones
            (seed, seed + 1, …), so repeated calls are independent yet reproducible.
    """

    def __init__(self, classifier: nn.Module, generator: nn.Module, *, steps: int = 200, restarts: int = 10,
                 lr: float = 0.2, gradient: str = "none", eot: int = 1, seed: int = 0, chunk: Optional[int] = None):
        super().__init__()
        if not isinstance(classifier, nn.Module) or not isinstance(generator, nn.Module):
            raise TypeError("classifier and generator must be nn.Modules")
        if getattr(generator, "num_classes", 0):
            raise ValueError("Defense-GAN projects on an unconditional generator's range")
        if gradient not in GRADIENTS:
            raise ValueError(f"gradient must be one of {GRADIENTS}, got {gradient!r}")
        if isinstance(eot, bool) or not isinstance(eot, int) or eot < 1:
            raise ValueError(f"eot must be an integer >= 1, got {eot!r}")
        if steps < 0 or restarts < 1:
            raise ValueError(f"need steps >= 0 and restarts >= 1, got steps={steps}, restarts={restarts}")
        self.classifier, self.generator = classifier, generator
        self.steps, self.restarts, self.lr = int(steps), int(restarts), float(lr)
        self.gradient, self.eot, self.seed, self.chunk = gradient, eot, int(seed), chunk
        self.calls = 0

    def project(self, x: Tensor) -> Tensor:
        """G(z*): the closest image on the generator's range found by the inversion (no gradient)."""
        seed = self.seed + self.calls
        self.calls += 1
        res = invert(self.generator, x.detach().clamp(0, 1), restarts=self.restarts, steps=self.steps, lr=self.lr,
                     seed=seed, chunk=self.chunk)
        return res.reconstructions[0].detach().to(x.dtype)

    def forward(self, x: Tensor) -> Tensor:
        logits = []
        for _ in range(self.eot):
            xp = self.project(x)
            if self.gradient == "bpda":
                xin = x + (xp - x).detach()  # value G(z*), gradient of the identity
            else:
                xin = xp + 0 * x  # value G(z*), gradient exactly zero: what differentiating the defence gives
            with frozen([self.classifier]):  # an inference-time defence: the caller's classifier state is kept
                logits.append(self.classifier(xin))
        return torch.stack(logits).mean(dim=0)

    def attacker_view(self, *, gradient: str = "bpda", eot: int = 1, steps: Optional[int] = None,
                      restarts: Optional[int] = None, seed: int = 10_000) -> "DefenseGAN":
        """The same defence as an attacker differentiates it (shares the networks; own random stream)."""
        return DefenseGAN(self.classifier, self.generator, steps=self.steps if steps is None else steps,
                          restarts=self.restarts if restarts is None else restarts, lr=self.lr, gradient=gradient,
                          eot=eot, seed=seed, chunk=self.chunk)


def evaluate_defense(classifier: nn.Module, generator: nn.Module, x: Tensor, y: Tensor, *, eps: float = 0.1,
                     norm: str = "linf", steps: int = 200, restarts: int = 10, lr: float = 0.2,
                     attack_steps: int = 10, attack_projection_steps: Optional[int] = None,
                     attack_projection_restarts: Optional[int] = None, eot: int = 4, seed: int = 0,
                     progress: bool = False) -> Dict[str, Any]:
    """Clean and robust accuracy of Defense-GAN against PGD that sees through the projection.

    Attacks (all PGD-``attack_steps``, ε-ball ``norm``, from a random start):
      - ``pgd-undefended``: the classifier alone (the baseline the defence should improve on);
      - ``pgd-naive``: differentiating the defended model as written (zero gradient — the number
        a careless evaluation would report);
      - ``pgd-bpda``: the projection's backward pass replaced by the identity;
      - ``pgd-bpda-eot``: BPDA with the logits averaged over ``eot`` random projections.
    The attack's own projections may use fewer steps/restarts (``attack_projection_*``, default:
    the defence's); every adversarial image is then judged by the full defence (L = ``steps``,
    R = ``restarts``). ``robust_accuracy`` is the per-image worst case over the see-through attacks.
    """
    import attacks

    defended = DefenseGAN(classifier, generator, steps=steps, restarts=restarts, lr=lr, seed=seed)
    t0 = time.perf_counter()
    clean_plain = predict(classifier, x) == y
    clean_def = predict(defended, x) == y
    seconds_clean = time.perf_counter() - t0
    view = dict(steps=attack_projection_steps, restarts=attack_projection_restarts)
    results: Dict[str, Any] = {}
    worst = clean_def.clone()

    def run(name: str, model: nn.Module, judge: nn.Module, k: int) -> Tensor:
        t = time.perf_counter()
        adv = attacks.pgd(model, x, y, eps, norm=norm, steps=attack_steps, restarts=1, random_start=True,
                          keep="last", seed=seed + k, progress=progress).x
        correct = (predict(judge, adv) == y) & (clean_def if judge is defended else clean_plain)
        results[name] = {"accuracy": float(correct.double().mean()), "seconds": round(time.perf_counter() - t, 1)}
        return correct

    run("pgd-undefended", classifier, classifier, 1)
    run("pgd-naive", defended.attacker_view(gradient="none", **view), defended, 2)
    worst &= run("pgd-bpda", defended.attacker_view(gradient="bpda", **view), defended, 3)
    worst &= run("pgd-bpda-eot", defended.attacker_view(gradient="bpda", eot=eot, seed=20_000, **view), defended, 4)
    return {
        "images": int(x.shape[0]), "eps": eps, "norm": norm,
        "defense": {"steps": steps, "restarts": restarts, "lr": lr},
        "attack": {"pgd_steps": attack_steps, "projection_steps": attack_projection_steps or steps,
                   "projection_restarts": attack_projection_restarts or restarts, "eot": eot},
        "clean_accuracy_classifier": float(clean_plain.double().mean()),
        "clean_accuracy_defended": float(clean_def.double().mean()),
        "seconds_clean_defended": round(seconds_clean, 1),
        "attacks": results,
        "robust_accuracy": float(worst.double().mean()),
        "note": "robust_accuracy = per image worst case over pgd-bpda and pgd-bpda-eot; pgd-naive shows the "
                "zero gradient of the projection and is not a measure of robustness",
    }
