"""``robustgan style-net train | apply``: the feed-forward style network (Johnson et al. 2016) from the shell.

``train`` fits the transformation network to one style image on a dataset's images and keeps an
atomic, resumable checkpoint ``OUT/style-net.pt``; ``apply`` stylises images with it in one pass
each. Both write a PNG grid and a JSON of the figures under ``--out``, as ``robustgan style`` does.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch
from torch import Tensor

from ..cli_flags import add_data_dir, add_device, add_num_examples, add_out, add_seed
from ..cli_types import add_run_flags, names
from .command import _ints, _settings

CHECKPOINT_FILE = "style-net.pt"


def register(sub) -> None:
    p = sub.add_parser("style-net")
    p.set_defaults(run=_missing)
    ssub = p.add_subparsers(dest="style_net_command")
    _train_parser(ssub)
    _apply_parser(ssub)


def _missing(args) -> None:
    raise ValueError("choose a sub-command: robustgan style-net train | apply (see --help)")


def _data_flags(p: argparse.ArgumentParser, split: str, n: Optional[int], n_help: str) -> None:
    p.add_argument("--dataset", default="fashion-mnist", help="fashion-mnist, cifar10 or folder:<path>")
    add_data_dir(p)
    p.add_argument("--split", default=split, choices=("train", "test"), help="which split's images")
    add_num_examples(p, n, n_help)
    add_device(p)


def _train_parser(ssub) -> None:
    p = ssub.add_parser("train", help="train the style network for one style image on a dataset's images")
    p.add_argument("--style", default="flower", help="photo name ('china', 'flower') or image path")
    p.add_argument("--style-size", type=int, default=96, help="shorter side of the style image")
    p.add_argument("--style-crop", type=_ints, default=[110, 190, 220, 220], metavar="TOP,LEFT,H,W",
                   help="crop of the style image (the dahlia's petals); 'none' for the whole image")
    _data_flags(p, "train", 20000, "train on the first N images of the split")
    p.add_argument("--network", default="random-multiscale",
                   help="feature network of the objective: random-multiscale (no download), default-classifier, "
                        "timm:<name> or a classifier checkpoint path")
    p.add_argument("--style-layers", type=names, default=None, help="Gram layers (default: the network's choice)")
    p.add_argument("--content-layers", type=names, default=None,
                   help="content layers (default: the shallowest style layer)")
    _settings(p, ("--steps", int, 300, "total training steps (a resumed run counts the steps already done)"),
              ("--batch-size", int, 16, "content images per step"), ("--lr", float, 1e-3, "Adam's step size"),
              ("--width", int, 16, "channels of the network's first layer"),
              ("--blocks", int, 3, "residual blocks of the network"),
              ("--content-weight", float, 1.0, "weight of the content loss"),
              ("--style-weight", float, 10.0, "weight of the style loss"),
              ("--checkpoint-every", int, 50, "steps between checkpoints"))
    add_seed(p)
    add_out(p, Path("runs/style-net"), f"folder for {CHECKPOINT_FILE}, samples.png and train.json")
    add_run_flags(p, resume=f"continue the run in --out from its {CHECKPOINT_FILE} (same settings)",
                  force=f"replace an existing {CHECKPOINT_FILE} in --out")
    p.set_defaults(run=train_job)


def _apply_parser(ssub) -> None:
    p = ssub.add_parser("apply", help="stylise images with a trained style network, one forward pass each")
    p.add_argument("--style-net", type=Path, required=True, metavar="CHECKPOINT",
                   help=f"a {CHECKPOINT_FILE} written by `robustgan style-net train`")
    p.add_argument("--input", action="append", default=None, metavar="IMAGE",
                   help="image path, photo name or test:<index>, repeatable (default: the first N images of --split)")
    p.add_argument("--size", type=int, default=None, help="resize --input images so the shorter side is this")
    _data_flags(p, "test", 16, "without --input: stylise the first N images of the split")
    add_out(p, Path("runs/style-net/apply"), "folder for stylised.png, stylised.pt and apply.json")
    p.add_argument("--quiet", action="store_true", help="no progress bars or summary line")
    p.set_defaults(run=apply_job)


def _split_images(args, n: Optional[int]) -> Tensor:
    """The first ``n`` images (all when None) of --dataset's --split, in [0, 1]."""
    from ..data import load_dataset, take

    ds, _ = load_dataset(args.dataset, args.split, args.data_dir)
    return take(ds, n)[0].float()


def _style_image(args) -> Tensor:
    """The style image, cropped and resized as ``robustgan style`` reads it."""
    from .jobs import _load

    return _load(args.style, size=args.style_size, crop=tuple(args.style_crop) if args.style_crop else None)


def train_job(args) -> Dict[str, Any]:
    """Train (or resume) the network and write its checkpoint, a sample grid and train.json."""
    from .images import save_image, write_json
    from .style_network import stylize
    from .style_network_train import train_style_network

    t0 = time.time()
    out = Path(args.out)
    ckpt = out / CHECKPOINT_FILE
    if ckpt.exists() and not (args.resume or args.force):
        raise ValueError(f"{ckpt} exists: pass --resume to continue that run or --force to replace it")
    if args.resume and args.force:
        raise ValueError("--resume continues the run in --out and --force replaces it: pass one")
    content = _split_images(args, args.num_examples).to(args.device)
    style = _style_image(args).to(args.device)
    out.mkdir(parents=True, exist_ok=True)
    run = train_style_network(content, style, steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                              width=args.width, blocks=args.blocks, network=args.network,
                              style_layers=args.style_layers, content_layers=args.content_layers,
                              content_weight=args.content_weight, style_weight=args.style_weight, seed=args.seed,
                              checkpoint=ckpt, checkpoint_every=args.checkpoint_every, resume=args.resume,
                              progress=not args.quiet)
    shown = content[:8]
    grid = save_image(_rows(shown, stylize(run.net, shown)), out / "samples.png")
    last = run.history[-1] if run.history else {}
    data = {"job": "style-net train", "checkpoint": str(ckpt), "step": run.step, "last": last,
            "figures": {"samples": str(grid)}, "config": _config(args), "seconds": round(time.time() - t0, 2)}
    write_json(data, out / "train.json")
    _say(args, f"step {run.step}: loss {last.get('loss', float('nan')):.4g} (style {last.get('style', float('nan')):.4g}, "
               f"content {last.get('content', float('nan')):.4g}); checkpoint {ckpt}")
    return data


def _inputs(args, channels: int) -> Tensor:
    """The images to stylise, with the network's channel count and even sides (a last odd row/column cut,
    since the network halves and doubles the resolution)."""
    from .feature_nets import match_channels
    from .jobs import _load

    if not args.input:
        images: List[Tensor] = [_split_images(args, args.num_examples)]
    else:
        test = _test_split(args) if any(spec.startswith("test:") for spec in args.input) else None
        images = [_indexed(test, spec) if spec.startswith("test:") else _load(spec, size=args.size)
                  for spec in args.input]
        if len({tuple(x.shape[-2:]) for x in images}) > 1:
            raise ValueError("--input images differ in size: pass --size to give them one shorter side, or "
                             "stylise them in separate runs")
    x = torch.cat([match_channels(im, channels) for im in images])
    return x[..., : x.shape[-2] // 2 * 2, : x.shape[-1] // 2 * 2]


def _test_split(args) -> Tensor:
    """--dataset's test images (``test:<index>`` names the test split, whatever --split says)."""
    from ..data import load_dataset, take

    ds, _ = load_dataset(args.dataset, "test", args.data_dir)
    return take(ds, None)[0].float()


def _indexed(x: Tensor, spec: str) -> Tensor:
    """Image ``test:<index>`` of the test images ``x``."""
    try:
        i = int(spec.split(":", 1)[1])
    except ValueError:
        raise ValueError(f"expected test:<index>, got {spec!r}") from None
    if not 0 <= i < x.shape[0]:
        raise ValueError(f"image index {i} out of range (0..{x.shape[0] - 1})")
    return x[i:i + 1]


def apply_job(args) -> Dict[str, Any]:
    """Stylise the inputs in one batched pass; write the grid (inputs over results) and the tensor."""
    from ..models.checkpoint import atomic_save
    from .images import save_image, write_json
    from .style_network import stylize
    from .style_network_train import load_style_network

    t0 = time.time()
    net = load_style_network(args.style_net, device=args.device)
    x = _inputs(args, net.channels).to(args.device)
    t1 = time.perf_counter()
    y = stylize(net, x)
    seconds = time.perf_counter() - t1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    grid = save_image(_rows(x[:8], y[:8]), out / "stylised.png")
    atomic_save(y.cpu(), out / "stylised.pt")
    data = {"job": "style-net apply", "checkpoint": str(args.style_net), "images": int(x.shape[0]),
            "seconds_per_image": seconds / x.shape[0], "figures": {"stylised": str(grid)},
            "tensor": str(out / "stylised.pt"), "config": _config(args), "seconds": round(time.time() - t0, 2)}
    write_json(data, out / "apply.json")
    _say(args, f"{x.shape[0]} images stylised, {seconds / x.shape[0] * 1000:.2f} ms each; written to {out}")
    return data


def _rows(inputs: Tensor, results: Tensor, gap: int = 2) -> Tensor:
    """One picture: the inputs side by side over their results (white gaps), at their own resolution."""
    def row(x: Tensor) -> Tensor:
        pad = torch.ones(x.shape[1], x.shape[2], gap)
        return torch.cat([t for im in x.cpu() for t in (im, pad)][:-1], dim=2)

    top, bottom = row(inputs), row(results)
    return torch.cat([top, torch.ones(top.shape[0], gap, top.shape[2]), bottom], dim=1)


def _config(args) -> Dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "run"}


def _say(args, text: str) -> None:
    if not getattr(args, "quiet", False):
        print(text)
