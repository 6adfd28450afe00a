"""The two crafting recipes of Ilyas et al. (2019), each one call of the input optimiser.

- Feature inversion (D_R with a robust model, D_NR with a standard one): from a start image x₀,
  minimise ‖g(x) − g(x_orig)‖ over x ∈ [0, 1] with L2-normalised gradient steps, g = the model's
  penultimate layer. The image keeps only what g sees of x_orig.
- Targeted L2 PGD (D_rand, D_det): from x, descend CE(f(x), t) inside a small L2 ball ∩ [0, 1].
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from ..deprecation import renamed_attributes
from ..objectives import FeatureMatch
from ..optim import Box, NormalizedGradient, frozen, optimize
from ..visualize.layers import layer_features


def feature_layer(model: nn.Module, layer: Optional[str] = None) -> str:
    """``layer`` if given, else the model's module named ``penultimate`` (SmallCNN, SmallResNet)."""
    names = [n for n, _ in model.named_modules()]
    if layer is not None:
        if layer not in names:
            raise ValueError(f"unknown layer {layer!r}; the model's layers are: {', '.join(n for n in names if n)}")
        return layer
    found = [n for n in names if n.split(".")[-1] == "penultimate"]
    if not found:
        raise ValueError("the model has no module named 'penultimate'; name the representation layer with layer=...")
    return found[-1]


def match_features(model: nn.Module, x_orig: Tensor, x_start: Tensor, *, layer: Optional[str] = None,
                   steps: int = 200, step_size: float = 0.1, progress: bool = False) -> tuple:
    """(images whose features at ``layer`` match those of ``x_orig``, final relative feature loss).

    Feature inversion as Ilyas et al. craft D_R and D_NR: from a real image ``x_start``, normalised
    gradient steps, no image priors (:func:`robustgan.visualize.invert_features` reconstructs from
    noise under priors instead). The kept image per sample is the iterate with the lowest loss
    ‖g(x) − g(x_orig)‖²/‖g(x_orig)‖² (normalised steps make the squared/unsquared choice irrelevant
    to the path).
    """
    if x_orig.shape != x_start.shape:
        raise ValueError(f"x_orig and x_start must have the same shape, got {tuple(x_orig.shape)} and {tuple(x_start.shape)}")
    layer = feature_layer(model, layer)
    # one forward of the whole batch, as the loop's: the loss at x_orig itself is exactly 0
    goal = layer_features(model, x_orig, layer, batch_size=x_orig.shape[0])
    res = optimize(model, x_start, FeatureMatch(layer, goal), step=NormalizedGradient(step_size), steps=steps,
                   constraint=Box(0, 1), keep="best", progress=progress, desc="invert features")
    return res.x, res.loss


def targeted_l2(model: nn.Module, x: Tensor, target: Tensor, *, eps: float, steps: int = 100,
                step_size: Optional[float] = None) -> tuple:
    """(images pushed toward ``target`` inside the L2 ball of radius ``eps``, whether the model now says target).

    Every image gets the whole budget and the last iterate is kept (as in Ilyas et al.): the first
    iterate that crosses the decision boundary would carry only a barely-there feature of ``target``.
    """
    import attacks

    y = torch.zeros_like(target)  # the label is not used by a targeted attack; any valid class will do
    res = attacks.pgd(model, x, y, eps, norm="l2", steps=steps, step_size=step_size, random_start=False,
                      target=target, keep="last")
    with frozen([model]), torch.no_grad():
        reached = model(res.x).argmax(dim=1) == target
    return res.x, reached


def choose_targets(y: Tensor, mode: str, num_classes: int, generator: Optional[torch.Generator] = None) -> Tensor:
    """D_rand: t uniform over the classes other than y; D_det: t = (y + 1) mod C."""
    if mode == "det":
        return (y + 1) % num_classes
    if mode == "rand":
        shift = torch.randint(1, num_classes, y.shape, generator=generator)
        return (y + shift.to(y.device)) % num_classes
    raise ValueError(f"target mode must be 'rand' or 'det', got {mode!r}")


__getattr__ = renamed_attributes(__name__, {
    "features_of": ("robustgan.visualize.layer_features", layer_features),
    "invert_features": ("robustgan.features.match_features", match_features),
})
