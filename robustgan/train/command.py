"""``robustgan train`` (standard or adversarial; runs unchanged under ``torchrun``)."""
from __future__ import annotations

import json
from pathlib import Path

from ..cli_counts import positive_int
from ..cli_flags import add_data_dir, add_device, add_generator, add_out, add_seed
from ..cli_renamed import result_path
from ..cli_types import add_run_flags, add_loop_flags, number

MODEL_FILE = "model.pt"  # OUT/model.pt; its epoch checkpoint is OUT/model.train.pt
OLD_OUT_SUFFIXES = (".pt", ".pth")  # an --out ending so named the model file itself


def register(sub) -> None:
    p = sub.add_parser("train")
    add_out(p, Path("runs/fashion-mnist-small-cnn"), f"folder for {MODEL_FILE} and its epoch checkpoint")
    p.add_argument("--arch", default="small-cnn", help="small-cnn, small-resnet, mlp or timm:<name>")
    p.add_argument("--dataset", default="fashion-mnist",
                   help="fashion-mnist, cifar10, folder:<path>, npz:<file>, hf:<folder> or crafted:<folder>")
    add_data_dir(p)
    p.add_argument("--epochs", type=positive_int, default=4, help="passes over the training images")
    p.add_argument("--batch-size", type=int, default=128, help="global batch (split over torchrun processes)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    add_seed(p)
    p.add_argument("--shift", type=int, default=0, metavar="PIXELS",
                   help="augmentation: shift each training image by up to PIXELS (random, zero fill)")
    add_device(p)
    add_run_flags(p, "continue from OUT's epoch checkpoint (same settings)",
                  "replace the model or checkpoint already in OUT")
    p.add_argument("--train-subset", type=int, default=None, help="train on the first N training images")
    p.add_argument("--test-subset", type=int, default=None, help="measure on the first N test images")
    a = p.add_argument_group("adversarial training")
    a.add_argument("--adversarial", choices=["pgd", "fgsm-rs", "trades", "latent"], default=None,
                   help="PGD-AT (Madry 2018), fast FGSM with random start (Wong 2020), TRADES (Zhang 2019), "
                        "or latent: a conditional GAN's latent adversarial examples mixed with PGD ones (Song 2018)")
    a.add_argument("--eps", type=number, default=0.1, help="radius of the inner attack (fractions like 8/255 allowed)")
    a.add_argument("--norm", choices=["linf", "l2"], default="linf", help="norm of the inner attack")
    a.add_argument("--attack-steps", type=int, default=None, help="inner steps (default 7; fgsm-rs: 1)")
    a.add_argument("--step-size", type=number, default=None, help="inner step (default 2.5ε/steps; fgsm-rs 1.25ε)")
    a.add_argument("--beta", type=float, default=6.0, help="TRADES weight of the KL term")
    a.add_argument("--robust-eval", type=int, default=None, metavar="N",
                   help="PGD-20 accuracy on N test images at the end (default 1000 when --adversarial, else 0)")
    g = p.add_argument_group("generative adversarial training (--adversarial latent)")
    add_generator(g, "class-conditional GAN checkpoint", old=["--latent-generator"], default=None)
    g.add_argument("--latent-eps", type=float, default=0.5, help="L∞ radius around z₀ in latent space")
    g.add_argument("--latent-share", type=float, default=0.25, help="share of each batch: latent adversarial examples")
    g.add_argument("--pixel-share", type=float, default=0.1, help="share of each batch: PGD examples (ε = --eps)")
    g.add_argument("--latent-judge", default=None,
                   help="classifier checkpoint (or 'default') that must still see class y in G(z, y)")
    add_loop_flags(p)
    p.set_defaults(run=run)


def run(args) -> None:
    from .adversarial import AdversarialConfig
    from ..distributed import is_main_process
    from .job import train_job
    from .trainer import TrainConfig

    adv, perturb = None, None
    if args.adversarial == "latent":
        perturb = _latent_mix(args)
    elif args.adversarial is not None:
        adv = AdversarialConfig(method=args.adversarial, eps=args.eps, norm=args.norm, steps=args.attack_steps,
                                step_size=args.step_size, beta=args.beta)
    robust_eval = args.robust_eval if args.robust_eval is not None else (1000 if args.adversarial else 0)
    result = train_job(model_path(args.out), arch=args.arch, dataset=args.dataset, data_dir=args.data_dir,
                       config=TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                                          adversarial=adv, shift=args.shift),
                       resume=args.resume, force=args.force, device=args.device, progress=not args.quiet,
                       train_subset=args.train_subset, test_subset=args.test_subset, robust_eval=robust_eval,
                       perturb=perturb)
    if is_main_process():
        print(json.dumps({k: v for k, v in result.items() if k != "history"}, indent=2))


def model_path(out: Path) -> Path:
    """OUT/model.pt, checked to be a folder that can be written now; or, for one release, OUT
    itself when it still names the model file (``--out runs/cnn.pt``)."""
    from ..runs import check_writable_folder

    path = result_path(out, MODEL_FILE, OLD_OUT_SUFFIXES)
    if path != out:
        check_writable_folder(out)
        if path.is_dir():  # --force would delete it
            raise ValueError(f"--out {out}: {path} is a folder, where the model file belongs")
    return path


def _latent_mix(args):
    """The batch maker of ``--adversarial latent``: latent adversarial examples of a conditional GAN
    plus PGD examples, the rest of each batch clean."""
    from ..gan import load_generator
    from ..gan.latent_attack import LatentPixelMix

    if args.generator is None:
        raise ValueError("--adversarial latent needs --generator (a class-conditional GAN checkpoint)")
    judge = None
    if args.latent_judge:
        from ..models import load_classifier
        from ..models.default import default_checkpoint_path

        judge = load_classifier(default_checkpoint_path() if args.latent_judge == "default" else args.latent_judge,
                                device=args.device)
    return LatentPixelMix(load_generator(args.generator, device=args.device), latent=args.latent_share,
                          pixel=args.pixel_share, latent_eps=args.latent_eps, pixel_eps=args.eps,
                          pixel_steps=args.attack_steps or 7, norm=args.norm, judge=judge, seed=args.seed)
