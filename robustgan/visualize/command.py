"""``robustgan fool | invert-features | maximize | dream | texture | style``: what a model sees.

Each sub-command writes PNG grids and a JSON of the figures under ``--out``; the work is done by
the recipes of :mod:`robustgan.visualize` (see :mod:`robustgan.visualize.jobs`).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable, Dict, Tuple

from ..cli_flags import add_data_dir, add_device, add_model, add_num_examples, add_out, add_seed
from ..cli_types import names, numbers


def _ints(text: str):
    if text.strip().lower() == "none":
        return None
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _common(p, job: str, model: bool = True) -> None:
    if model:
        add_model(p, old=["--checkpoint"])
    p.add_argument("--dataset", default="fashion-mnist", help="fashion-mnist, cifar10 or folder:<path> "
                                                              "(where test:<index> images come from)")
    add_data_dir(p)
    add_device(p)
    add_seed(p)
    add_out(p, Path("robustgan-visualize") / job, f"folder for the PNG grids and {job}.json")
    p.add_argument("--quiet", action="store_true", help="no progress bars or summary line")


def _settings(p, *rows: Tuple[str, Callable[[str], Any], Any, str]) -> None:
    """A recipe's numeric settings, one (flag, type, default, help) row each: a table, not a wall of calls."""
    for flag, kind, default, text in rows:
        p.add_argument(flag, type=kind, default=default, help=text)


def _steps(p, steps: int, step_size: float, steps_help: str, step_help: str = "size of each step") -> None:
    """The optimiser's budget and step, which every recipe has (with its own defaults)."""
    _settings(p, ("--steps", int, steps, steps_help), ("--step-size", float, step_size, step_help))


def _photo_args(p, default: str, crop=None, size=None) -> None:
    p.add_argument("--image", default=default,
                   help="sample photo 'china' or 'flower' (needs scikit-learn), an image path, or test:<index>")
    p.add_argument("--crop", type=_ints, default=crop, metavar="TOP,LEFT,H,W",
                   help="crop before resizing; 'none' for the whole image")
    p.add_argument("--size", type=int, default=size, help="resize so the shorter side has this many pixels")


def _texture_net_args(p) -> None:
    p.add_argument("--network", default="random-multiscale",
                   help="the feature network whose Gram matrices are matched: random-multiscale (no download), "
                        "default-classifier, timm:<name> (random weights) or a classifier checkpoint path")
    p.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs", help="what moves the pixels")
    _steps(p, 300, 0.02, "L-BFGS iterations or Adam steps", "Adam's step")


def _fool(p) -> None:
    p.add_argument("--classes", type=_ints, default=None, help="comma-separated class indices (default: all)")
    _steps(p, 1000, 0.01, "step budget per class")
    _settings(p, ("--confidence", float, 0.9999, "probability each fooling image must reach"),
              ("--noise", float, 0.01, "std of the noise added to the mean image"))
    p.add_argument("--loss", choices=("probability", "log-probability"), default="probability",
                   help="what is maximised")
    _settings(p, ("--l2", float, 0.0, "weight of ‖x − mean‖²"),
              ("--blur", float, 0.0, "weight of the blur (high-frequency) penalty"),
              ("--blur-sigma", float, 1.0, "σ of the blur's Gaussian"),
              ("--tv", float, 0.0, "weight of the total variation TV²"))


def _invert_features(p) -> None:
    p.add_argument("--layers", type=names, default=None, help="module names, shallow to deep (default: every "
                                                              "activation layer and the logits)")
    p.add_argument("--indices", type=_ints, default=[0, 1, 2], help="test images to invert")
    _steps(p, 300, 0.02, "optimiser steps per layer")
    _settings(p, ("--alpha", float, 6.0, "α of the α-norm prior"),
              ("--lambda-alpha", float, 1e-3, "weight of the α-norm prior"),
              ("--beta", float, 2.0, "exponent β of the TV^β prior"),
              ("--lambda-tv", float, 0.05, "weight of the TV^β prior"),
              ("--noise", float, 0.5, "amplitude of the uniform noise of the start"))


def _maximize(p) -> None:
    p.add_argument("--layer", default="model.penultimate.2", help="the layer whose units are probed")
    p.add_argument("--kind", choices=("unit", "channel", "direction"), default="channel", help="what is maximised")
    p.add_argument("--indices", type=_ints, default=None, help="units/channels (default: the first 8)")
    p.add_argument("--n-directions", type=int, default=4, help="random directions for --kind direction")
    _steps(p, 200, 0.05, "optimiser steps")
    p.add_argument("--parametrization", choices=("pixels", "fourier"), default="pixels", help="what is optimised")
    p.add_argument("--jitter", type=int, default=0, help="random shift in pixels before every step")
    p.add_argument("--scales", type=numbers, default=None, help="random rescaling factors, e.g. 0.9,1,1.1")
    p.add_argument("--tv", type=float, default=0.0, help="weight of the (normalised) TV² prior")
    p.add_argument("--top-k", type=int, default=6, help="dataset images shown per probe")
    add_num_examples(p, None, "test images searched (default: all)")
    p.add_argument("--no-retrieval", action="store_true", help="skip the dataset retrieval")


def _dream(p) -> None:
    _photo_args(p, "test:0")
    p.add_argument("--layer", default="model.features.4", help="a convolutional layer (octaves change the size)")
    _settings(p, ("--octaves", int, 3, "image scales, coarse to fine"),
              ("--octave-scale", float, 1.4, "size ratio of successive octaves"),
              ("--jitter", int, 2, "random shift in pixels before every step"))
    _steps(p, 20, 0.01, "steps per octave", "RMS pixel change per step")


def _texture(p) -> None:
    _photo_args(p, "flower", crop=[110, 190, 220, 220], size=96)  # the dahlia's petals
    _texture_net_args(p)
    p.add_argument("--layers", type=names, default=None, help="Gram layers (default: the network's choice)")
    p.add_argument("--out-size", type=_ints, default=None, metavar="H,W",
                   help="size of the synthesised texture (default: the source's)")
    p.add_argument("--samples", type=int, default=1, help="textures synthesised")


def _style(p) -> None:
    p.add_argument("--content", default="china", help="photo name, image path or test:<index>")
    p.add_argument("--style", default="flower", help="photo name or image path")
    p.add_argument("--size", type=int, default=96, help="shorter side of the content image")
    p.add_argument("--style-size", type=int, default=96, help="shorter side of the style image")
    p.add_argument("--style-crop", type=_ints, default=[110, 190, 220, 220], metavar="TOP,LEFT,H,W",
                   help="crop of the style image (the dahlia's petals); 'none' for the whole image")
    _texture_net_args(p)
    p.add_argument("--style-layers", type=names, default=None, help="Gram layers (default: the network's choice)")
    p.add_argument("--content-layers", type=names, default=None,
                   help="content layers (default: the shallowest style layer)")
    _settings(p, ("--content-weight", float, 1.0, "weight of the content loss"),
              ("--style-weight", float, 10.0, "weight of the style loss"),
              ("--tv", float, 0.0, "weight of the TV² prior"))
    p.add_argument("--start", choices=("content", "noise"), default="content", help="where the optimisation starts")


# command → (what it adds to the common flags, its job in robustgan.visualize.jobs, whether it takes --model)
RECIPES: Dict[str, Tuple[Callable[[argparse.ArgumentParser], None], str, bool]] = {
    "fool": (_fool, "fool_job", True),
    "invert-features": (_invert_features, "invert_job", True),
    "maximize": (_maximize, "maximize_job", True),
    "dream": (_dream, "dream_job", True),
    "texture": (_texture, "texture_job", False),
    "style": (_style, "style_job", False),
}


def register(sub) -> None:
    from . import jobs

    for name, (add_flags, job, model) in RECIPES.items():
        p = sub.add_parser(name)
        _common(p, name, model=model)
        add_flags(p)
        p.set_defaults(run=getattr(jobs, job))
