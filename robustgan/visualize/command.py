"""``robustgan fool | invert-features | maximize | dream | texture | style``: what a model sees.

Each sub-command writes PNG grids and a JSON of the figures under ``--out``; the work is done by
the recipes of :mod:`robustgan.visualize` (see :mod:`robustgan.visualize.jobs`).
"""
from __future__ import annotations

import argparse
from pathlib import Path

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
        p.add_argument("--checkpoint", type=Path, default=None, help="classifier checkpoint (default: the shipped model)")
    p.add_argument("--dataset", default="fashion-mnist", help="fashion-mnist, cifar10 or folder:<path> "
                                                              "(where test:<index> images come from)")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--device", default="auto", help="auto (CUDA when available, else CPU), cpu, cuda, cuda:1, …")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("robustgan-visualize") / job)
    p.add_argument("--quiet", action="store_true", help="no progress bars or summary line")


def _photo_args(p, default: str, crop=None, size=None) -> None:
    p.add_argument("--image", default=default,
                   help="sample photo 'china' or 'flower' (needs scikit-learn), an image path, or test:<index>")
    p.add_argument("--crop", type=_ints, default=crop, metavar="TOP,LEFT,H,W",
                   help=f"crop before resizing (default: {'none' if crop is None else ','.join(map(str, crop))})")
    p.add_argument("--size", type=int, default=size, help="resize so the shorter side has this many pixels")


def _texture_net_args(p) -> None:
    p.add_argument("--network", default="random-multiscale",
                   help="random-multiscale (default, no download), default-classifier, timm:<name> (random "
                        "weights) or a classifier checkpoint path")
    p.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs")
    p.add_argument("--steps", type=int, default=300, help="L-BFGS iterations or Adam steps")
    p.add_argument("--step-size", type=float, default=0.02, help="Adam's step")


def _fool(sub, jobs) -> None:
    p = sub.add_parser("fool")
    _common(p, "fool")
    p.add_argument("--classes", type=_ints, default=None, help="comma-separated class indices (default: all)")
    p.add_argument("--confidence", type=float, default=0.9999)
    p.add_argument("--steps", type=int, default=1000, help="step budget per class")
    p.add_argument("--step-size", type=float, default=0.01)
    p.add_argument("--noise", type=float, default=0.01, help="std of the noise added to the mean image")
    p.add_argument("--loss", choices=("probability", "log-probability"), default="probability")
    p.add_argument("--l2", type=float, default=0.0, help="weight of ‖x − mean‖²")
    p.add_argument("--blur", type=float, default=0.0, help="weight of the blur (high-frequency) penalty")
    p.add_argument("--blur-sigma", type=float, default=1.0)
    p.add_argument("--tv", type=float, default=0.0, help="weight of the total variation TV²")
    p.set_defaults(run=jobs.fool_job)


def _invert_features(sub, jobs) -> None:
    p = sub.add_parser("invert-features")
    _common(p, "invert-features")
    p.add_argument("--layers", type=names, default=None, help="module names, shallow to deep (default: every "
                                                              "activation layer and the logits)")
    p.add_argument("--indices", type=_ints, default=[0, 1, 2], help="test images to invert")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--step-size", type=float, default=0.02)
    p.add_argument("--alpha", type=float, default=6.0)
    p.add_argument("--lambda-alpha", type=float, default=1e-3)
    p.add_argument("--beta", type=float, default=2.0)
    p.add_argument("--lambda-tv", type=float, default=0.05)
    p.add_argument("--noise", type=float, default=0.5, help="amplitude of the uniform noise of the start")
    p.set_defaults(run=jobs.invert_job)


def _maximize(sub, jobs) -> None:
    p = sub.add_parser("maximize")
    _common(p, "maximize")
    p.add_argument("--layer", default="model.penultimate.2")
    p.add_argument("--kind", choices=("unit", "channel", "direction"), default="channel")
    p.add_argument("--indices", type=_ints, default=None, help="units/channels (default: the first 8)")
    p.add_argument("--n-directions", type=int, default=4, help="random directions for --kind direction")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--step-size", type=float, default=0.05)
    p.add_argument("--parametrization", choices=("pixels", "fourier"), default="pixels")
    p.add_argument("--jitter", type=int, default=0, help="random shift in pixels before every step")
    p.add_argument("--scales", type=numbers, default=None, help="random rescaling factors, e.g. 0.9,1,1.1")
    p.add_argument("--tv", type=float, default=0.0, help="weight of the (normalised) TV² prior")
    p.add_argument("--top-k", type=int, default=6, help="dataset images shown per probe")
    p.add_argument("-n", "--num-examples", type=int, default=None, help="test images searched (default: all)")
    p.add_argument("--no-retrieval", action="store_true")
    p.set_defaults(run=jobs.maximize_job)


def _dream(sub, jobs) -> None:
    p = sub.add_parser("dream")
    _common(p, "dream")
    _photo_args(p, "test:0")
    p.add_argument("--layer", default="model.features.4", help="a convolutional layer (octaves change the size)")
    p.add_argument("--octaves", type=int, default=3)
    p.add_argument("--octave-scale", type=float, default=1.4)
    p.add_argument("--steps", type=int, default=20, help="steps per octave")
    p.add_argument("--step-size", type=float, default=0.01, help="RMS pixel change per step")
    p.add_argument("--jitter", type=int, default=2)
    p.set_defaults(run=jobs.dream_job)


def _texture(sub, jobs) -> None:
    p = sub.add_parser("texture")
    _common(p, "texture", model=False)
    _photo_args(p, "flower", crop=[110, 190, 220, 220], size=96)  # the dahlia's petals
    _texture_net_args(p)
    p.add_argument("--layers", type=names, default=None, help="Gram layers (default: the network's choice)")
    p.add_argument("--out-size", type=_ints, default=None, metavar="H,W", help="size of the synthesised texture")
    p.add_argument("--samples", type=int, default=1)
    p.set_defaults(run=jobs.texture_job)


def _style(sub, jobs) -> None:
    p = sub.add_parser("style")
    _common(p, "style", model=False)
    p.add_argument("--content", default="china", help="photo name, image path or test:<index>")
    p.add_argument("--style", default="flower", help="photo name or image path")
    p.add_argument("--size", type=int, default=96, help="shorter side of the content image")
    p.add_argument("--style-size", type=int, default=96, help="shorter side of the style image")
    p.add_argument("--style-crop", type=_ints, default=[110, 190, 220, 220], metavar="TOP,LEFT,H,W",
                   help="crop of the style image (default: the dahlia's petals); 'none' for the whole image")
    _texture_net_args(p)
    p.add_argument("--style-layers", type=names, default=None)
    p.add_argument("--content-layers", type=names, default=None)
    p.add_argument("--content-weight", type=float, default=1.0)
    p.add_argument("--style-weight", type=float, default=10.0)
    p.add_argument("--tv", type=float, default=0.0)
    p.add_argument("--start", choices=("content", "noise"), default="content")
    p.set_defaults(run=jobs.style_job)


def register(sub) -> None:
    from . import jobs

    for add in (_fool, _invert_features, _maximize, _dream, _texture, _style):
        add(sub, jobs)
