"""The visualisation jobs behind the command line: load, run a recipe, write PNG grids and a JSON.

Each job takes the parsed arguments, writes its files under ``args.out`` and returns the JSON it
wrote (with the figure paths), so tests and scripts can read the numbers directly.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import torch
from torch import Tensor

from .images import load_image, save_grid, save_image, write_json


# ----------------------------------------------------------------------------------------- helpers
def _device(args) -> torch.device:
    dev = torch.device(args.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was given but CUDA is not available")
    return dev


def _classifier(args):
    from ..models import load_classifier, model_fingerprint
    from ..models.default import default_checkpoint_path

    path = args.model or default_checkpoint_path()
    model = load_classifier(path, device=_device(args))
    return model, {"checkpoint": str(path), "fingerprint": model_fingerprint(model)}


def _dataset(args, split: str = "test") -> Tuple[Tensor, Tensor, Any]:
    from ..data import load_dataset, take

    ds, info = load_dataset(args.dataset, split, args.data_dir)
    x, y = take(ds, None)
    return x, y, info


def _finish(args, job: str, data: Dict[str, Any], figures: Dict[str, Path], started: float) -> Dict[str, Any]:
    data = {"job": job, **data, "figures": {k: str(v) for k, v in figures.items()},
            "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "run"},
            "seconds": round(time.time() - started, 2)}
    write_json(data, Path(args.out) / f"{job}.json")
    return data


def _say(args, text: str) -> None:
    if not getattr(args, "quiet", False):
        print(text)


def _image_arg(args, spec: str, x: Optional[Tensor] = None) -> Tensor:
    """A dataset index (``test:5``), a sample photo name or an image path."""
    if spec.startswith("test:"):
        if x is None:
            x, _, _ = _dataset(args)
        i = int(spec.split(":", 1)[1])
        if not 0 <= i < x.shape[0]:
            raise ValueError(f"image index {i} out of range (0..{x.shape[0] - 1})")
        return x[i:i + 1]
    crop = tuple(args.crop) if getattr(args, "crop", None) else None
    return _load(spec, size=getattr(args, "size", None), crop=crop)


def _load(spec: str, **kwargs: Any) -> Tensor:
    try:
        return load_image(spec, **kwargs)
    except ImportError as exc:  # the optional photo source: say how to get it, without a traceback
        raise ValueError(str(exc)) from None


# -------------------------------------------------------------------------------------------- jobs
def fool_job(args) -> Dict[str, Any]:
    from ..data import load_dataset, take
    from .fooling import fooling_images

    t0 = time.time()
    model, meta = _classifier(args)
    try:
        ds, info = load_dataset(args.dataset, "train", args.data_dir)
        split = "train"
    except FileNotFoundError:
        ds, info = load_dataset(args.dataset, "test", args.data_dir)
        split = "test"
    x, _ = take(ds, None)
    mean = x.mean(0, keepdim=True).to(_device(args))
    res = fooling_images(model, mean, args.classes, confidence=args.confidence, steps=args.steps,
                         step_size=args.step_size, noise=args.noise, loss=args.loss, l2=args.l2, blur=args.blur,
                         blur_sigma=args.blur_sigma, tv=args.tv, seed=args.seed, progress=not args.quiet)
    names = list(info.classes)
    out = Path(args.out)
    titles = [f"{names[c]}\np={p:.4%}, {s} steps" for c, p, s in
              zip(res.classes.tolist(), res.confidence.tolist(), res.steps.tolist())]
    figs = {"fooling_images": save_grid(res.images, out / "fooling_images.png", titles=titles, ncols=5,
                                        suptitle=f"fooling images from the {split}-set mean (goal p ≥ {args.confidence:.4%})"),
            "mean_image": save_image(mean, out / "mean_image.png")}
    data = _finish(args, "fool", {"model": meta, "start": f"{split}-set mean + N(0, {args.noise}²)",
                                  **res.summary(names)}, figs, t0)
    _say(args, f"{sum(r['reached_goal'] for r in data['per_class'])}/{len(data['per_class'])} classes reached "
               f"p ≥ {args.confidence:.4%}; written to {out}")
    return data


def invert_job(args) -> Dict[str, Any]:
    from .inversion import invert_layers
    from .layers import activation_layers

    t0 = time.time()
    model, meta = _classifier(args)
    x, _, info = _dataset(args)
    bad = [i for i in args.indices if not 0 <= i < x.shape[0]]
    if bad or not args.indices:
        raise ValueError(f"--indices must name test images in 0..{x.shape[0] - 1}, got {args.indices}")
    images = x[list(args.indices)].to(_device(args))
    layers = args.layers or activation_layers(model, images[:1]) + [_last_layer(model)]
    results = invert_layers(model, images, layers, steps=args.steps, step_size=args.step_size, alpha=args.alpha,
                            lambda_alpha=args.lambda_alpha, beta=args.beta, lambda_tv=args.lambda_tv,
                            noise=args.noise, seed=args.seed, progress=not args.quiet)
    cells: List[Tensor] = []
    titles: List[str] = []
    for i in range(images.shape[0]):
        cells.append(images[i])
        titles.append("original")
        for r in results:
            cells.append(r.x[i])
            titles.append(f"{r.layer}\nerr {float(r.error[i]):.3f}")
    out = Path(args.out)
    figs = {"inversion": save_grid(cells, out / "inversion.png", titles=titles, ncols=1 + len(results),
                                   suptitle="reconstructions from shallow to deep layers (normalised feature error)")}
    data = _finish(args, "invert-features", {"model": meta, "indices": list(args.indices),
                                             "layers": [r.summary() for r in results]}, figs, t0)
    for r in results:
        _say(args, f"{r.layer:>24}: normalised feature error {float(r.error.mean()):.4f}, TV {float(r.tv.mean()):.2f}")
    return data


def _last_layer(model) -> str:
    names = [n for n, m in model.named_modules() if n and not list(m.children())]
    return names[-1]


def maximize_job(args) -> Dict[str, Any]:
    from .maximize import maximize_activation

    t0 = time.time()
    model, meta = _classifier(args)
    x, _, info = _dataset(args)
    dev = _device(args)
    dataset = None if args.no_retrieval else (x if args.num_examples is None else x[:args.num_examples])
    res = maximize_activation(model, args.layer, kind=args.kind, indices=args.indices, n_directions=args.n_directions,
                              image_shape=tuple(x.shape[1:]), dataset=dataset, top_k=args.top_k, seed=args.seed,
                              device=dev, progress=not args.quiet, steps=args.steps, step_size=args.step_size,
                              parametrization=args.parametrization, jitter=args.jitter, scales=args.scales, tv=args.tv)
    cells, titles = [], []
    for i, label in enumerate(res.labels):
        cells.append(res.x[i])
        titles.append(f"{label}\nsynth {float(res.activation[i]):.2f}")
        if res.top is not None:
            for j in range(res.top.images.shape[1]):
                cells.append(res.top.images[i, j])
                titles.append(f"#{int(res.top.indices[i, j])}\n{float(res.top.values[i, j]):.2f}")
    out = Path(args.out)
    ncols = 1 + (res.top.images.shape[1] if res.top is not None else 0)
    figs = {"maximize": save_grid(cells, out / "maximize.png", titles=titles,
                                  ncols=ncols if res.top is not None else min(8, len(cells)),
                                  suptitle=f"{args.kind}s of {args.layer}: synthesised (left) and top test images")}
    data = _finish(args, "maximize", {"model": meta, **res.summary()}, figs, t0)
    _say(args, f"synthesised activations {[round(float(a), 3) for a in res.activation]}" +
         ("" if res.top is None else f"; dataset maxima {[round(float(a), 3) for a in res.top.maximum]}"))
    return data


def dream_job(args) -> Dict[str, Any]:
    from .dream import deepdream
    from .feature_nets import in_channels_of, match_channels

    t0 = time.time()
    model, meta = _classifier(args)
    image = _image_arg(args, args.image).to(_device(args))
    image = match_channels(image, in_channels_of(model))
    res = deepdream(model, image, args.layer, octaves=args.octaves, octave_scale=args.octave_scale, steps=args.steps,
                    step_size=args.step_size, jitter=args.jitter, seed=args.seed, progress=not args.quiet)
    out = Path(args.out)
    cells = [image[0]] + [o[0] for o in res.octaves]
    titles = ["input"] + [f"octave {k + 1}\n{s[0]}×{s[1]}" for k, s in enumerate(res.sizes)]
    figs = {"dream": save_grid(cells, out / "dream.png", titles=titles, suptitle=f"DeepDream at {args.layer}"),
            "dream_image": save_image(res.x, out / "dream_image.png")}
    data = _finish(args, "dream", {"model": meta, **res.summary()}, figs, t0)
    _say(args, f"layer energy ×{float(res.energy_after[0] / res.energy_before[0].clamp_min(1e-12)):.1f}; written to {out}")
    return data


def texture_job(args) -> Dict[str, Any]:
    from .texture import synthesize_texture

    t0 = time.time()
    source = _image_arg(args, args.image).to(_device(args))
    size = tuple(args.out_size) if args.out_size else None
    res = synthesize_texture(source, network=args.network, layers=args.layers, size=size, n=args.samples,
                             steps=args.steps, optimizer=args.optimizer, step_size=args.step_size, seed=args.seed,
                             progress=not args.quiet)
    out = Path(args.out)
    figs = {"texture": save_grid([source[0]] + list(res.x.unbind(0)), out / "texture.png",
                                 titles=["source"] + [f"synthesised {i}" for i in range(res.x.shape[0])], cell=2.6,
                                 suptitle=f"Gram loss ×{float(res.loss_start.mean() / res.loss_end.mean().clamp_min(1e-30)):.0f} lower")}
    for i in range(res.x.shape[0]):
        figs[f"texture_{i}"] = save_image(res.x[i], out / f"texture_{i}.png")
    data = _finish(args, "texture", {"network": str(args.network), **res.summary()}, figs, t0)
    _say(args, f"Gram loss {float(res.loss_start.mean()):.4g} → {float(res.loss_end.mean()):.4g}; written to {out}")
    return data


def style_job(args) -> Dict[str, Any]:
    from .style import style_transfer

    t0 = time.time()
    dev = _device(args)
    content = _image_arg(args, args.content).to(dev)
    style = _load(args.style, size=args.style_size, crop=tuple(args.style_crop) if args.style_crop else None).to(dev)
    res = style_transfer(content, style, network=args.network, style_layers=args.style_layers,
                         content_layers=args.content_layers, content_weight=args.content_weight,
                         style_weight=args.style_weight, tv=args.tv, steps=args.steps, optimizer=args.optimizer,
                         step_size=args.step_size, start=args.start, seed=args.seed, progress=not args.quiet)
    out = Path(args.out)
    figs = {"style": save_grid([content[0], style[0], res.x[0]], out / "style.png",
                               titles=["content", "style", "result"], cell=2.6),
            "stylised": save_image(res.x, out / "stylised.png")}
    data = _finish(args, "style", {"network": str(args.network), **res.summary()}, figs, t0)
    _say(args, f"content loss {res.content_loss['end']:.4g}, style loss {res.style_loss['start']:.4g} → "
               f"{res.style_loss['end']:.4g}; written to {out}")
    return data
