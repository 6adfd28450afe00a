"""The adversarial version of a dataset under any attack of the zoo (``robustgan craft adversarial``).

Each example keeps its true label; the shard also records, per example, the attack's target (when
targeted), whether the model is fooled (on the stored, possibly 8-bit, image) and the distortion in
the attack's norm. A minimal-norm attack given ``eps`` has its points beyond ε projected back onto
the ball (L0: a point changing more than ε pixels is stored as the clean image), so every stored
example lies in its ball and the box.
"""
from __future__ import annotations

import inspect
from typing import Any, Dict, Optional

import torch
from torch import Tensor, nn

from ..evaluate.registry import CATALOGUE
from ..optim import Ball, Box, frozen, parse_norm
from .quantize import distortion, quantization_aware

TARGET_MODES = {"none": "untargeted", "random": "a uniformly random other class", "next": "y + 1 mod C",
                "least-likely": "the class the model finds least likely on the clean image"}


def canonical_norm(name: str, norm: str) -> str:
    """'linf', 'l2', 'l1' or 'l0' from any spelling, refused with a sentence where the attack lacks it."""
    if name not in CATALOGUE:
        raise ValueError(f"unknown attack {name!r}; choose from {sorted(CATALOGUE)}")
    key = str(norm).lower().lstrip("l")
    key = "linf" if key in ("inf", "∞") else f"l{key}"
    if key not in CATALOGUE[name].norms:
        raise ValueError(f"norm: {name} supports {', '.join(CATALOGUE[name].norms)}, not {norm!r}")
    return key


def parse_attack_norm(name: str, norm: str) -> float:
    """The attack's norm as a number (0 for L0)."""
    key = canonical_norm(name, norm)
    return 0.0 if key == "l0" else float(parse_norm(key))


def adversarial_params(name: str, norm: str, eps: Optional[float], steps: Optional[int], target_mode: str,
                       quantize: bool) -> Dict[str, Any]:
    """The manifest's record of the recipe (the settings that change the crafted bits), after checks."""
    import attacks

    norm = canonical_norm(name, norm)
    if target_mode not in TARGET_MODES:
        raise ValueError(f"target mode must be one of {list(TARGET_MODES)}, got {target_mode!r}")
    fn = attacks.ATTACKS[name]
    accepted = inspect.signature(fn).parameters
    if target_mode != "none" and "target" not in accepted:
        raise ValueError(f"{name} has no targeted form; drop --target-mode or choose one of "
                         f"{sorted(a for a, f in attacks.ATTACKS.items() if 'target' in inspect.signature(f).parameters)}")
    sweep = CATALOGUE[name].kind == "sweep"
    if sweep and eps is None:
        raise ValueError(f"eps: {name} is a fixed-radius attack; give --eps")
    if eps is not None and not 0 <= eps < float("inf"):
        raise ValueError(f"eps must be finite and >= 0, got {eps}")
    if quantize and eps is None:
        raise ValueError("eps: quantisation-aware crafting needs the ball's radius; give --eps")
    projected = not sweep and eps is not None
    return {"recipe": "adversarial", "attack": name, "norm": norm, "eps": eps, "steps": steps,
            "target": TARGET_MODES[target_mode], "target_mode": target_mode,
            "iterate": "the attack's own" + (" (minimal point, projected onto the ε-ball)" if projected else ""),
            "quantize": "1/255 grid, aware crafting" if quantize else None}


def choose_adversarial_targets(model: nn.Module, x: Tensor, y: Tensor, mode: str, num_classes: int,
                               generator: torch.Generator) -> Optional[Tensor]:
    if mode == "none":
        return None
    if mode == "next":
        return (y + 1) % num_classes
    if mode == "random":
        shift = torch.randint(1, num_classes, y.shape, generator=generator).to(y.device)
        return (y + shift) % num_classes
    with frozen([model]), torch.no_grad():
        return model(x).argmin(dim=1)


def attack_batch(model: nn.Module, x: Tensor, y: Tensor, params: Dict[str, Any], num_classes: int,
                 generator: torch.Generator) -> Dict[str, Tensor]:
    """One batch through the recipe: ``x`` (the stored images), ``success``, ``distortion``,
    ``target`` (targeted) and ``recovered_on_grid`` (quantisation-aware)."""
    import attacks

    name, p = params["attack"], parse_attack_norm(params["attack"], params["norm"])
    fn = attacks.ATTACKS[name]
    accepted = inspect.signature(fn).parameters
    target = choose_adversarial_targets(model, x, y, params["target_mode"], num_classes, generator)
    kwargs: Dict[str, Any] = {}
    if "norm" in accepted:
        kwargs["norm"] = params["norm"]
    if params["steps"] is not None:
        kwargs["steps"] = params["steps"]  # every attack with a step count calls it steps
    if target is not None:
        kwargs["target"] = target
    if "generator" in accepted:
        kwargs["generator"] = generator
    sweep = CATALOGUE[name].kind == "sweep"
    eps = params["eps"]
    res = fn(model, x, y, eps, **kwargs) if sweep else fn(model, x, y, **kwargs)
    x_adv = res.x.detach()
    radius = None if eps is None else torch.full((x.shape[0],), float(eps), device=x.device, dtype=x.dtype)
    if radius is not None and p != 0:  # every stored example inside its ball (a no-op for most attacks)
        x_adv = (Ball(p, radius) & Box(0, 1)).project(x_adv, x, radius)
    goal = y if target is None else target
    out: Dict[str, Tensor] = {}
    if params["quantize"]:
        x_adv, _ = quantization_aware(model, x_adv, x, radius, p, goal, target is not None)
    if radius is not None and p == 0:  # an L0 point with more than eps changed pixels: the clean image
        changed = distortion(x_adv - x, 0)
        x_adv = torch.where((changed > radius).reshape(-1, *([1] * (x.dim() - 1))), x, x_adv)
    with frozen([model]), torch.no_grad():
        pred = model(x_adv).argmax(dim=1)
    out["x"] = x_adv
    out["success"] = pred == goal if target is not None else pred != y
    out["distortion"] = distortion(x_adv - x, p)
    if target is not None:
        out["target"] = target
    return out


__all__ = ["TARGET_MODES", "adversarial_params", "attack_batch", "parse_attack_norm"]
