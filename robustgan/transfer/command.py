"""``robustgan transfer``: craft on source models (or take crafted datasets), judge on target models."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Dict, List

import torch

from ..cli_counts import positive_int
from ..cli_flags import add_data_dir, add_device, add_num_examples, add_out, add_seed
from ..cli_types import number


def register(sub) -> None:
    p = sub.add_parser("transfer")
    p.add_argument("--source", type=Path, action="append", default=[], help="checkpoint to craft on (repeatable)")
    p.add_argument("--images", type=Path, action="append", default=[],
                   help="a finished `craft adversarial` folder used as a source row (repeatable)")
    p.add_argument("--target", type=Path, action="append", required=True, help="checkpoint to judge on (repeatable)")
    p.add_argument("--attack", default="mifgsm", help="attack run on each --source (mifgsm, difgsm, tifgsm, vmifgsm, pgd, …)")
    p.add_argument("--eps", type=number, default=0.1, help="attack radius (fractions like 8/255 allowed)")
    p.add_argument("--norm", default="linf", help="attack norm: linf, l2, …")
    p.add_argument("--steps", type=positive_int, default=10, help="attack steps")
    add_num_examples(p, 500, "test images (the first N)", old=["--count"], type=positive_int)
    p.add_argument("--dataset", default="fashion-mnist", help="where the test images come from")
    add_data_dir(p)
    p.add_argument("--batch-size", type=positive_int, default=250, help="examples attacked at once")
    add_seed(p)
    add_device(p, default="cpu")
    add_out(p, Path("transfer"), "folder for transfer.json, .md, .png and .html")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=run)


def _names(paths: List[Path]) -> List[str]:
    """Short names: the file stems, with the parent folder where two different files share a stem
    (the same file named twice, as source and target, keeps one name)."""
    unique = list(dict.fromkeys(p.resolve() for p in paths))
    stems = [p.stem for p in unique]
    name = {p: f"{p.parent.name}/{p.stem}" if stems.count(p.stem) > 1 else p.stem for p in unique}
    return [name[p.resolve()] for p in paths]


def run(args) -> None:
    from ..data import load_dataset, take
    from ..features.adversarial import adversarial_params, attack_batch
    from ..features.dataset import CraftedDataset
    from ..models import load_classifier
    from ..validation import check_model_fits_data
    from .matrix import plot_matrix, transfer_matrix

    if not args.source and not args.images:
        raise ValueError("give at least one --source checkpoint or --images folder")
    if args.out.exists() and not args.out.is_dir():
        raise ValueError(f"--out {args.out} is a file, not a folder")
    crafted: Dict[str, torch.Tensor] = {}
    if args.images:
        sets = [CraftedDataset(d) for d in args.images]
        index = sets[0].extras["index"]
        src = sets[0].manifest["source"]
        for d, s in zip(args.images, sets):
            if s.kind != "adversarial" or not torch.equal(s.extras["index"], index) or s.manifest["source"] != src:
                raise ValueError(f"{d} is not an adversarial set of the same images as {args.images[0]}")
        dataset, _ = load_dataset(src["dataset"], src["split"], args.data_dir)
        from ..features.job import gather

        x, y = gather(dataset, index)
        crafted = {f"{name} (crafted)": s.x for name, s in zip(_names(args.images), sets)}
    else:
        dataset, info = load_dataset(args.dataset, "test", args.data_dir)
        x, y = take(dataset, args.num_examples)
    y = y.long()
    models = {}
    names = _names(args.source + args.target)
    for name, path in zip(names, args.source + args.target):
        if name not in models:
            models[name] = load_classifier(path, device=args.device)
            check_model_fits_data(models[name], x[:2].to(args.device), int(y.max()) + 1, "the images")
    sources = {n: models[n] for n in names[:len(args.source)]}
    targets = {n: models[n] for n in names[len(args.source):]}
    params = adversarial_params(args.attack, args.norm, args.eps, args.steps, "none", False)
    gen = torch.Generator().manual_seed(args.seed)
    classes = int(y.max()) + 1

    def attack(model, xb, yb):
        return SimpleNamespace(x=attack_batch(model, xb, yb, params, classes, gen)["x"])

    result = transfer_matrix(sources, targets, x, y, attack, crafted=crafted, batch=args.batch_size,
                             device=args.device, progress=not args.quiet)
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"attack": params, "examples": int(len(y)), **result.to_dict()}
    (args.out / "transfer.json").write_text(json.dumps(report, indent=2))
    (args.out / "transfer.md").write_text(result.markdown() + "\n")
    plot_matrix(result, args.out / "transfer.png", f"{args.attack} ε={args.eps} ({args.norm})")
    from ..report import write_html

    page = (f"# Transfer: {args.attack}, ε = {args.eps:g} ({args.norm}), {len(y)} images\n\n"
            "A cell: the share of examples crafted on the source (row) that fool the target (column), among "
            f"the points both classify correctly.\n\n{result.markdown()}\n\n![transfer matrix](transfer.png)\n")
    write_html(args.out / "transfer.html", "Transfer matrix", page)
    print(result.markdown())
    print(f"wrote {args.out / 'transfer.json'}, transfer.md, transfer.png and transfer.html")
