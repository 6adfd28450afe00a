"""``robustgan defense-gan``: Defense-GAN's clean and robust accuracy under attacks that see through it."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..cli_flags import add_device, add_generator, add_model, add_num_examples, add_out, add_seed
from ..cli_types import number


def register(sub) -> None:
    p = sub.add_parser("defense-gan",
                       description="Classify G(z*) instead of x (z* from L Adam steps and R restarts) and attack "
                                   "it naively, with BPDA and with BPDA + EOT; writes report.json.")
    add_generator(p, "an unconditional GAN checkpoint", required=True)
    add_model(p, old=["--classifier"])
    add_num_examples(p, 100, "test images (the first N)", old=["--num"])
    p.add_argument("--eps", type=number, default=0.1, help="attack radius (fractions like 8/255 allowed)")
    p.add_argument("--norm", choices=["linf", "l2"], default="linf", help="attack norm")
    p.add_argument("--steps", type=int, default=200, help="L: Adam steps of the projection (paper: 200)")
    p.add_argument("--restarts", type=int, default=10, help="R: random starts of the projection (paper: 10)")
    p.add_argument("--attack-steps", type=int, default=10, help="PGD steps")
    p.add_argument("--attack-projection-steps", type=int, default=None, help="L inside the attack (default: L)")
    p.add_argument("--attack-projection-restarts", type=int, default=None, help="R inside the attack (default: R)")
    p.add_argument("--eot", type=int, default=4, help="random projections averaged by the EOT attack")
    add_seed(p)
    add_device(p)
    add_out(p, Path("runs/defense-gan"), "folder for report.json and report.html")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=run)


def run(args) -> None:
    from ..data import load_dataset, take
    from ..models import load_classifier
    from ..models.default import default_checkpoint_path
    from ..runs import check_writable_folder
    from ..validation import check_model_fits_data
    from . import load_generator
    from .defense import evaluate_defense

    for name in ("num_examples", "steps", "restarts", "attack_steps", "eot"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    check_writable_folder(args.out)  # now, not after the attacks have run
    classifier = load_classifier(args.model or default_checkpoint_path(), args.device)
    generator = load_generator(args.generator, device=args.device)
    if getattr(generator, "num_classes", 0):
        raise ValueError("Defense-GAN projects onto an unconditional generator's range; this one is conditional")
    dataset, info = load_dataset("fashion-mnist", "test")
    x, y = take(dataset, args.num_examples)
    x, y = x.to(args.device), y.to(args.device)
    check_model_fits_data(classifier, x, len(info.classes), info.name)
    report = evaluate_defense(classifier, generator, x, y, eps=args.eps, norm=args.norm, steps=args.steps,
                              restarts=args.restarts, attack_steps=args.attack_steps,
                              attack_projection_steps=args.attack_projection_steps,
                              attack_projection_restarts=args.attack_projection_restarts, eot=args.eot,
                              seed=args.seed, progress=not args.quiet)
    report["generator"] = str(args.generator)
    report["warnings"] = defense_warnings(report, len(info.classes))
    for warning in report["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=2))
    from ..report import json_markdown, write_html

    write_html(args.out / "report.html", "Defense-GAN", json_markdown("Defense-GAN", report))
    print(json.dumps(report, indent=2))


def defense_warnings(report: dict, num_classes: int) -> list:
    """A defence no better than chance on clean images makes every robust accuracy below meaningless."""
    clean = report["clean_accuracy_defended"]
    if clean <= 1.5 / num_classes:
        return [f"the defended classifier's clean accuracy is {100 * clean:.1f}% (chance: {100 / num_classes:.0f}%): "
                f"the generator cannot reproduce the test images, so its robust accuracies measure nothing; "
                f"train the generator longer or raise --steps / --restarts"]
    return []
