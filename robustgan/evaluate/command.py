"""``robustgan evaluate``."""
from __future__ import annotations

from pathlib import Path

from ..cli_flags import add_data_dir, add_device, add_model, add_num_examples, add_out, add_seed
from ..cli_types import add_run_flags, add_loop_flags, names, numbers


def register(sub) -> None:
    p = sub.add_parser("evaluate")
    add_model(p, "classifier: a robustgan checkpoint, TorchScript, ONNX (.onnx), or a state dict (.pt, "
                 ".safetensors) with --arch (default: the shipped model)", old=["--checkpoint"])
    p.add_argument("--dataset", default="fashion-mnist",
                   help="fashion-mnist, cifar10, folder:<path>, npz:<file>, hf:<folder> or crafted:<folder>")
    add_data_dir(p)
    from .job import DEFAULT_ATTACKS, DEFAULT_EPS
    from .registry import CATALOGUE

    sweep = ",".join(k for k, v in CATALOGUE.items() if v.kind == "sweep")
    minimal = ",".join(k for k, v in CATALOGUE.items() if v.kind == "minimal")
    p.add_argument("--attacks", type=names, default=list(DEFAULT_ATTACKS),
                   help=f"comma-separated, any of the zoo: fixed-ε sweeps {sweep}; minimal-norm {minimal} "
                        "; each runs for the norms it supports")
    p.add_argument("--norms", type=names, default=["linf", "l2"], help="threat models: linf, l2, l1, l0 (FMN only)")
    for norm, unit in (("linf", "L∞"), ("l2", "L2"), ("l1", "L1"), ("l0", "L0 (pixels)")):
        p.add_argument(f"--eps-{norm}", type=numbers, default=None, metavar="EPS,EPS,…",
                       help=f"{unit} radii, fractions like 8/255 allowed "
                            f"(default: {','.join(f'{e:g}' for e in DEFAULT_EPS[norm])})")
    p.add_argument("--steps", type=int, default=20, help="PGD steps")
    p.add_argument("--restarts", type=int, default=1, help="PGD random starts")
    add_num_examples(p, 1000, "test images attacked (the first N)")
    p.add_argument("--num-minimal", type=int, default=100,
                   help="correctly classified examples for the minimal-norm attacks and their envelope")
    p.add_argument("--minimal-queries", type=int, default=None,
                   help="per-point budget (forward + backward passes) of every minimal-norm attack")
    p.add_argument("--batch-size", type=int, default=500, help="examples attacked at once")
    add_device(p)
    add_seed(p)
    add_out(p, Path("robustgan-report"), "folder for report.json, report.md, report.html and the figures")
    p.add_argument("--arch", default=None,
                   help="architecture of a plain state-dict checkpoint: small-cnn, small-resnet, mlp, timm:<name>")
    rb = p.add_argument_group("RobustBench models (read from its local folder layout, never downloaded)")
    rb.add_argument("--robustbench", default=None, metavar="NAME", help="a RobustBench model name, e.g. Standard")
    rb.add_argument("--model-dir", type=Path, default=None, help="RobustBench's models folder (default ./models)")
    rb.add_argument("--robustbench-dataset", default="cifar10", choices=["cifar10", "cifar100", "imagenet"],
                    help="the zoo the model is listed in")
    rb.add_argument("--robustbench-threat", default="Linf", choices=["Linf", "L2", "corruptions"],
                    help="the threat model the model is listed under")
    p.add_argument("--in-channels", type=int, default=1, help="with --arch")
    p.add_argument("--num-classes", type=int, default=10, help="with --arch")
    p.add_argument("--mean", type=numbers, default=None, help="with --arch: input normalisation mean per channel")
    p.add_argument("--std", type=numbers, default=None, help="with --arch: input normalisation std per channel")
    p.add_argument("--suite", choices=["quick", "standard"], default=None,
                   help="also run an attack suite at one ε per norm (standard: APGD-CE, APGD-T, FAB-T, Square)")
    for norm, eps in (("linf", 0.1), ("l2", 1.5), ("l1", 10.0)):
        p.add_argument(f"--suite-eps-{norm}", type=float, default=eps, help=f"the suite's {norm} radius")
    p.add_argument("--suite-steps", type=int, default=100, help="APGD / FAB iterations")
    p.add_argument("--suite-queries", type=int, default=5000, help="Square attack queries")
    p.add_argument("--no-checks", action="store_true", help="skip the gradient-masking self-checks")
    p.add_argument("--no-escalate", action="store_true",
                   help="do not run the standard suite on a threat whose gradient-masking checks fail")
    p.add_argument("--check-examples", type=int, default=100, help="examples the gradient-masking self-checks use")
    add_run_flags(p, "continue the run in --out: finished phases and work units are loaded, not redone",
                  "replace the results --out already holds")
    add_loop_flags(p)
    p.set_defaults(run=run)


def run(args) -> None:
    from .job import EvaluateConfig, evaluate_job

    cfg = EvaluateConfig(
        checkpoint=args.model, dataset=args.dataset, data_dir=args.data_dir, attacks=args.attacks,
        norms=args.norms, eps_linf=args.eps_linf, eps_l2=args.eps_l2, eps_l1=args.eps_l1, eps_l0=args.eps_l0,
        steps=args.steps, restarts=args.restarts, num_examples=args.num_examples, num_minimal=args.num_minimal,
        minimal_queries=args.minimal_queries, batch_size=args.batch_size,
        device=args.device, seed=args.seed, out=args.out, progress=not args.quiet,
        arch=args.arch, in_channels=args.in_channels, num_classes=args.num_classes, mean=args.mean, std=args.std,
        suite=args.suite, suite_eps_linf=args.suite_eps_linf, suite_eps_l2=args.suite_eps_l2,
        suite_eps_l1=args.suite_eps_l1, escalate=not args.no_escalate,
        suite_steps=args.suite_steps, suite_queries=args.suite_queries, checks=not args.no_checks,
        check_examples=args.check_examples, resume=args.resume, force=args.force,
        amp=args.amp, compile=args.compile_model, sync_every=args.sync_every,
        robustbench=args.robustbench, model_dir=args.model_dir, robustbench_dataset=args.robustbench_dataset,
        robustbench_threat=args.robustbench_threat,
    )
    report = evaluate_job(cfg)
    from ..distributed import is_main_process

    if is_main_process():
        print(report["summary_text"])
