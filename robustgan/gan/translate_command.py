"""``robustgan gan translate``: a translation checkpoint applied to source images, saved as tensors and a grid.

The sources are a file of images, or made from held-out real images the way the checkpoint's task
made its training sources (:func:`~robustgan.gan.translation_sources.translator_sources`), so a
checkpoint can be looked at without preparing anything.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..cli_flags import add_data_dir, add_device, add_generator, add_num_examples, add_out

RESULTS = ("translations.pt", "translations.png")
PAIRS_PER_ROW = 8


def add_translator_flags(p: argparse.ArgumentParser) -> None:
    """Which generator of a translation checkpoint: CycleGAN's direction, StarGAN's target domain."""
    p.add_argument("--direction", choices=("ab", "ba"), default="ab",
                   help="CycleGAN checkpoints: translate A → B (ab) or B → A (ba)")
    p.add_argument("--domain", default=None, metavar="D",
                   help="StarGAN checkpoints: the target domain, an index or a class name such as sneaker "
                        "(default: 0)")


def register_translate(gsub) -> None:
    p = gsub.add_parser("translate", help="translate source images with an image-to-image GAN checkpoint "
                                          "(pix2pix, cyclegan, srgan, stargan)")
    add_generator(p, "translation checkpoint (robustgan gan train --arch pix2pix|cyclegan|srgan|stargan)",
                  required=True)
    p.add_argument("--images", type=Path, default=None,
                   help="a .pt or .npz file of source images (default: made from --split images as the "
                        "checkpoint's task makes its sources)")
    add_num_examples(p, 16, "source images made from the checkpoint's task (without --images)")
    p.add_argument("--offset", type=int, default=0, help="skip this many images of the split first")
    p.add_argument("--split", default="test", choices=("train", "test"), help="which split the sources come from")
    add_translator_flags(p)
    p.add_argument("--no-ema", action="store_true", help="use the trained weights even if EMA weights exist")
    add_data_dir(p)
    add_device(p)
    add_out(p, Path("robustgan-translate"), "folder for translations.pt and translations.png (source | output)")
    p.set_defaults(run=run_translate)


def run_translate(args: argparse.Namespace) -> None:
    from ..models.checkpoint import atomic_save
    from .inversion.command import load_image_file
    from .translation import load_translation_checkpoint, load_translator, translate
    from .translation_sources import resolve_domain, translator_sources

    ckpt = load_translation_checkpoint(args.generator)
    arch = ckpt["arch"]
    if args.domain is not None and arch != "stargan":
        raise ValueError(f"--domain is for StarGAN checkpoints; {args.generator} is {arch}")
    if args.direction != "ab" and arch != "cyclegan":
        raise ValueError(f"--direction is for CycleGAN checkpoints; {args.generator} is {arch}")
    if args.offset < 0:
        raise ValueError(f"--offset must be >= 0, got {args.offset}")
    g = load_translator(args.generator, ema=not args.no_ema, direction=args.direction, device=args.device)
    domain = resolve_domain(ckpt, args.domain) if arch == "stargan" else None
    if args.images is not None:
        sources = load_image_file(args.images)
    else:
        sources = translator_sources(ckpt, g, args.num_examples, direction=args.direction, domain=domain,
                                     split=args.split, skip=args.offset, root=args.data_dir)
    outputs = translate(g, sources, domain).cpu()
    if args.out.exists() and not args.out.is_dir():
        raise ValueError(f"--out {args.out} is a file, not a folder")
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_save({"sources": sources.cpu(), "translations": outputs, "arch": arch, "direction": args.direction,
                 "domain": domain, "generator": str(args.generator)}, args.out / RESULTS[0])
    save_pairs(sources, outputs, args.out / RESULTS[1])
    print(f"wrote {args.out / RESULTS[0]} and {args.out / RESULTS[1]} ({outputs.shape[0]} translations, "
          f"{tuple(sources.shape[1:])} → {tuple(outputs.shape[1:])})")


def save_pairs(sources, outputs, path: Path) -> Path:
    """A grid of (source | output) pairs, ``PAIRS_PER_ROW`` per row; a smaller source drawn enlarged."""
    import torch

    from .grid import save_pixel_grid
    from .translation.operators import upsample_nearest

    shown = upsample_nearest(sources.cpu(), outputs.shape[-1])
    if shown.shape[1] != outputs.shape[1]:
        shown = shown.mean(1, keepdim=True).expand(-1, outputs.shape[1], -1, -1)
    pairs = torch.stack([shown, outputs], dim=1).flatten(0, 1)
    return save_pixel_grid(pairs, path, nrow=2 * min(PAIRS_PER_ROW, outputs.shape[0]))


__all__ = ["RESULTS", "add_translator_flags", "register_translate", "run_translate", "save_pairs"]
