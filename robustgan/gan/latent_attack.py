"""Latent-space (generative) adversarial examples (Song et al. 2018) and the batches that train on them.

Instead of a small pixel perturbation of a real image, search the latent of a class-conditional
generator: from z₀ ~ N(0, I) find z with ‖z − z₀‖∞ ≤ ε such that the classifier is wrong on
G(z, y) while G still draws class y. The class is held fixed by the conditional generator and
the small ball around z₀; an optional independent *judge* classifier adds a term that keeps it
recognisably y (Song et al. use an auxiliary classifier for the same purpose).

It is a recipe over :func:`robustgan.optim.optimize` with
:class:`~robustgan.optim.latent.ConditionalLatent` as the parametrisation: sign steps on z,
projection on the L∞ ball around z₀, random start in the ball, the best restart kept.

:func:`latent_adversarial_batch` is the inner maximisation of generative adversarial training;
:class:`LatentPixelMix` makes a training batch from clean, pixel-adversarial and
latent-adversarial examples, with the ``perturb(model, x, y)`` signature of
:func:`robustgan.train.trainer.train_classifier`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..objectives import CrossEntropy, Objective
from ..optim import Ball, Sign, frozen, optimize, uniform_in_ball
from ..optim.latent import ConditionalLatent


@dataclass
class LatentAttackResult:
    """Per sample: the adversarial image G(z, y), its latent, the start z₀ and whether the classifier erred."""

    x: Tensor          # (N, C, H, W) G(z, y)
    z: Tensor          # (N, D)
    z0: Tensor         # (N, D)
    y: Tensor          # (N,) the class G was asked to draw
    success: Tensor    # (N,) classifier's prediction on x differs from y (and, with a judge, the judge reads y)
    clean_correct: Tensor  # (N,) classifier right on G(z₀, y) (the unperturbed sample)
    judge_agrees: Optional[Tensor] = None  # (N,) the judge still reads y on x


class JudgeCE(Objective):
    """CE(judge(x), y) of an independent classifier on the generated rows: keeps x recognisably class y."""

    def __init__(self, judge: nn.Module):
        self.judge = judge

    def __call__(self, ev) -> Tensor:
        return F.cross_entropy(self.judge(ev.x), ev.target, reduction="none")

    def __repr__(self) -> str:
        return "CE(judge)"


def _check(classifier: nn.Module, generator: nn.Module, y: Tensor, eps: float, steps: int) -> Tensor:
    if not isinstance(classifier, nn.Module):
        raise TypeError(f"classifier must be an nn.Module, got {type(classifier).__name__}")
    if not isinstance(generator, nn.Module) or not getattr(generator, "num_classes", 0):
        raise ValueError("latent adversarial examples need a class-conditional generator (num_classes > 0)")
    if not isinstance(y, Tensor) or y.dim() != 1 or y.is_floating_point() or y.numel() == 0:
        raise TypeError("y must be a non-empty 1-D integer tensor of classes")
    if int(y.min()) < 0 or int(y.max()) >= generator.num_classes:
        raise ValueError(f"y must lie in [0, {generator.num_classes})")
    if not (isinstance(eps, (int, float)) and 0 <= float(eps) < float("inf")):
        raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    return y.long()


def latent_attack(
    classifier: nn.Module,
    generator: nn.Module,
    y: Tensor,
    *,
    eps: float = 0.5,
    steps: int = 10,
    step_size: Optional[float] = None,
    restarts: int = 1,
    z0: Optional[Tensor] = None,
    judge: Optional[nn.Module] = None,
    judge_weight: float = 1.0,
    early_stop: bool = False,
    seed: Optional[int] = None,
    generator_rng: Optional[torch.Generator] = None,
) -> LatentAttackResult:
    """Find z in the L∞ ball of radius ``eps`` around z₀ with classifier(G(z, y)) ≠ y.

    Args:
        classifier: the model attacked (logits); frozen and handed back as it was.
        generator: a class-conditional generator G(z, y) with ``latent_dim`` and ``num_classes``.
        y: the class of each sample (what G draws).
        eps: L∞ radius in latent space (z₀ ~ N(0, I), so 0.5 is half a standard deviation per entry).
        steps, step_size: sign steps on z (default step 2.5·ε/steps, as PGD).
        restarts: random starts in the ball, as rows of one batch; the best (fooling first) is kept.
        z0: the starting latents (default: drawn from N(0, I) with ``seed``/``generator_rng``).
        judge, judge_weight: an independent classifier whose CE(y) is added, so G(z, y) stays class y.
        early_stop: retire a sample once it fools the classifier.
    """
    y = _check(classifier, generator, y, eps, steps)
    if judge_weight < 0:
        raise ValueError(f"judge_weight must be >= 0, got {judge_weight}")
    device = next(generator.parameters()).device
    y = y.to(device)
    rng = generator_rng if generator_rng is not None else torch.Generator().manual_seed(0 if seed is None else seed)
    n, d = y.shape[0], generator.latent_dim
    if z0 is None:
        z0 = torch.randn(n, d, generator=rng).to(device)
    elif z0.shape != (n, d):
        raise ValueError(f"z0 must have shape ({n}, {d}), got {tuple(z0.shape)}")
    z0 = z0.to(device).detach()
    objective: Objective = -CrossEntropy()
    if judge is not None and judge_weight > 0:
        objective = objective + judge_weight * JudgeCE(judge)
    alpha = 2.5 * float(eps) / max(steps, 1) if step_size is None else float(step_size)
    param = ConditionalLatent(generator, y)

    def wrong(ev) -> Tensor:
        """The classifier errs — and, with a judge, the judge still reads class y (G still draws y)."""
        out = ev.logits.argmax(dim=1) != ev.target
        if judge is not None:
            out = out & (judge(ev.x).argmax(dim=1) == ev.target)
        return out

    with frozen([judge] if judge is not None else []):
        res = optimize(
            classifier, z0, objective, step=Sign(alpha), steps=steps, constraint=Ball(float("inf"), float(eps)),
            origin=z0, target=y, parametrization=param, restarts=restarts,
            init=uniform_in_ball("linf") if eps > 0 else None, success=wrong, stop_on_success=early_stop,
            generator=rng, desc="latent attack",
        )
        with torch.no_grad(), frozen([classifier, generator]):
            clean = classifier(generator(z0, y)).argmax(1) == y
            agrees = None if judge is None else judge(res.x).argmax(1) == y
    return LatentAttackResult(res.x.detach(), res.variable.detach(), z0, y, res.success.clone(), clean, agrees)


def latent_adversarial_batch(classifier: nn.Module, generator: nn.Module, y: Tensor, *, eps: float = 0.5,
                             steps: int = 5, step_size: Optional[float] = None, judge: Optional[nn.Module] = None,
                             judge_weight: float = 1.0, generator_rng: Optional[torch.Generator] = None) -> Tensor:
    """Latent adversarial images of classes ``y`` (N, C, H, W): the inner max of generative adversarial training.

    The last-or-best iterate of :func:`latent_attack` from fresh z₀ ~ N(0, I); train on them with
    labels ``y``.
    """
    return latent_attack(classifier, generator, y, eps=eps, steps=steps, step_size=step_size, judge=judge,
                         judge_weight=judge_weight, generator_rng=generator_rng).x


class LatentPixelMix:
    """A training batch of clean, pixel-adversarial (PGD) and latent-adversarial examples, labels unchanged.

    A fraction ``pixel`` of each batch's rows is replaced by its PGD adversarial example, a
    fraction ``latent`` by a latent adversarial example G(z*, y) of the same label y, the rest
    stays clean. Call signature ``(model, x, y) -> x'`` is ``train_classifier``'s ``perturb``
    hook; the random draws come from one seeded generator, so a run is reproducible.
    """

    def __init__(self, generator: nn.Module, *, latent: float = 0.25, pixel: float = 0.25, latent_eps: float = 0.5,
                 latent_steps: int = 5, pixel_eps: float = 0.1, pixel_steps: int = 7, norm: str = "linf",
                 judge: Optional[nn.Module] = None, judge_weight: float = 1.0, seed: int = 0):
        if not getattr(generator, "num_classes", 0):
            raise ValueError("LatentPixelMix needs a class-conditional generator")
        if not (0 <= latent <= 1 and 0 <= pixel <= 1 and latent + pixel <= 1):
            raise ValueError(f"latent and pixel are fractions of the batch with latent + pixel <= 1, got {latent}, {pixel}")
        self.generator, self.latent, self.pixel = generator, float(latent), float(pixel)
        self.latent_eps, self.latent_steps = float(latent_eps), int(latent_steps)
        self.pixel_eps, self.pixel_steps, self.norm = float(pixel_eps), int(pixel_steps), norm
        self.judge, self.judge_weight = judge, float(judge_weight)
        self.rng = torch.Generator().manual_seed(seed)

    def settings(self) -> dict:
        return {"latent": self.latent, "pixel": self.pixel, "latent_eps": self.latent_eps,
                "latent_steps": self.latent_steps, "pixel_eps": self.pixel_eps, "pixel_steps": self.pixel_steps,
                "norm": self.norm, "judge_weight": self.judge_weight, "judge": self.judge is not None}

    def state_dict(self) -> dict:
        """What a training checkpoint keeps so that a resumed run draws the same batches."""
        return {"settings": self.settings(), "rng": self.rng.get_state()}

    def load_state_dict(self, state: dict) -> None:
        if state["settings"] != self.settings():
            raise ValueError(f"the checkpoint's latent/pixel mix {state['settings']} differs from {self.settings()}")
        self.rng.set_state(state["rng"])

    def __call__(self, model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
        import attacks

        n = x.shape[0]
        order = torch.randperm(n, generator=self.rng).to(x.device)
        n_lat, n_pix = int(round(self.latent * n)), int(round(self.pixel * n))
        lat, pix = order[:n_lat], order[n_lat:n_lat + n_pix]
        out = x.clone()
        if n_pix:
            res = attacks.pgd(model, x[pix], y[pix], self.pixel_eps, norm=self.norm, steps=self.pixel_steps,
                              random_start=True, keep="last", generator=self.rng)
            out[pix] = res.x.detach().to(out.dtype)
        if n_lat:
            gen_device = next(self.generator.parameters()).device
            imgs = latent_adversarial_batch(model, self.generator, y[lat].to(gen_device), eps=self.latent_eps,
                                            steps=self.latent_steps, judge=self.judge, judge_weight=self.judge_weight,
                                            generator_rng=self.rng)
            out[lat] = imgs.to(out.device, out.dtype)
        return out
