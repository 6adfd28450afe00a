"""Image-to-image GANs on Fashion-MNIST against their baselines, and provenance attribution of their outputs.

Parts (``--parts``, comma-separated; each writes its own section of RESULTS.md with ``--write``):

* ``paired`` — pix2pix (edges → garment) and SRGAN (14×14 → 28×28) against their non-adversarial
  baselines: the same generator, the same seed, the same training pairs in the same batch order,
  the same number of Adam steps (2e-4, β = (0.5, 0.999)), with the discriminator removed
  (``TranslationConfig(adversarial=False)``): pix2pix's baseline is 100·L1 alone; SRGAN's is its
  content loss alone (the shipped classifier's features, "perceptual"), and an SRResNet-MSE row
  (pixel MSE alone) is added. Scored on ``--n-test`` held-out test pairs: FID-local (the shipped
  classifier's 128-d penultimate features) of the outputs against the real test garments, the
  sharpness ratio (mean Sobel magnitude of the outputs over that of the targets; 1 = as sharp as
  the real garments), PSNR and SSIM (per image, averaged), L1, and the shipped classifier's
  accuracy on the outputs (the true label of the garment the source was made from).
* ``cycle`` — CycleGAN sneakers (7) ↔ ankle boots (9): share of test translations the shipped
  classifier reads as the target class, and the cycle-reconstruction L1 error.
* ``star`` — StarGAN over sandals, sneakers, ankle boots (5, 7, 9): share of outputs read as the
  requested class (over the two other domains, and over all three targets).
* ``provenance`` — attribution among three translation generators (pix2pix, SRGAN, CycleGAN A → B,
  the runs above) plus real test images, and under post-processing (none, JPEG 95/75/50, resize
  ×0.5, Gaussian noise σ 0.02) via ``attribution_under_postprocessing``: each generator's test
  images are its translations of held-out test sources (edge maps, 14×14 images, test sneakers),
  inverted over the source (init: the known operator of the image — its edge map, its 14×14
  downsample, the image itself for CycleGAN); the threshold is set for a 5% false-positive rate on
  other real test images, clean, and kept for every transform.
* ``latent`` — the same post-processing table for three latent DCGANs (seeds 0, 1, 2).

Trained checkpoints are cached under ``--cache`` (default ``runs/bench-translation``): a rerun
resumes them (nothing to train when the steps are reached; more ``--*-steps`` continue them).
``--images`` (default ``docs/images``) receives small sample grids.

    OMP_NUM_THREADS=1 python benchmarks/bench_translation.py --parts paired,cycle,star,provenance,latent --write
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import torch
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import write_section  # noqa: E402

from robustgan.data import FASHION_MNIST_CLASSES  # noqa: E402
from robustgan.gan.grid import save_pixel_grid  # noqa: E402
from robustgan.gan.metrics import FeatureExtractor, frechet_distance, precision_recall  # noqa: E402
from robustgan.gan.translation import (TranslationConfig, make_task, train_translation, translate,  # noqa: E402
                                       translation_quality)
from robustgan.gan.translation.operators import downsample, edge_map, upsample_nearest  # noqa: E402
from robustgan.gan.translation.tasks import garments  # noqa: E402
from robustgan.models import load_classifier  # noqa: E402
from robustgan.models.default import default_checkpoint_path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("paired", "cycle", "star", "provenance", "latent")
TRANSFORMS = ("none", "jpeg95", "jpeg75", "jpeg50", "resize0.5", "noise0.02")


def sharpness(images: Tensor) -> float:
    import kornia

    return float(kornia.filters.sobel(images).mean())


def command_line() -> str:
    env = f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']} " if os.environ.get("OMP_NUM_THREADS") else ""
    return env + "python benchmarks/bench_translation.py " + " ".join(sys.argv[1:])


def machine() -> str:
    return (f"Machine: {platform.machine()}, {os.cpu_count()} CPUs shared with other jobs, torch {torch.__version__} "
            f"(CPU, {torch.get_num_threads()} thread), Python {platform.python_version()}.")


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.cache = Path(args.cache)
        self.images = Path(args.images)
        self.classifier = load_classifier(default_checkpoint_path())
        self.extractor = FeatureExtractor(self.classifier)
        self.seconds: Dict[str, float] = {}

    # --- training, cached -------------------------------------------------------------------
    def train(self, name: str, task, cfg: TranslationConfig, steps: int):
        out = self.cache / name
        resume = (out / "checkpoint.pt").exists()
        t0 = time.process_time()
        run = train_translation(task, cfg, steps=steps, out_dir=out, resume=resume, progress=False,
                                sample_every=10 ** 9, checkpoint_every=500)
        spent = time.process_time() - t0
        meta = out / "train_seconds.json"
        done = json.loads(meta.read_text()) if meta.exists() else {"cpu_seconds": 0.0}
        done["cpu_seconds"] = round(done["cpu_seconds"] + spent, 1)
        done["steps"] = steps
        meta.write_text(json.dumps(done))
        self.seconds[name] = done["cpu_seconds"]
        print(f"[train] {name}: {steps} steps ({'resumed' if resume else 'new'}, {spent:.0f} s now, "
              f"{done['cpu_seconds']:.0f} s CPU in all)", flush=True)
        return run

    def accuracy(self, images: Tensor, labels: Tensor) -> float:
        with torch.no_grad():
            return float((self.classifier(images).argmax(1) == labels).float().mean())

    def predicted(self, images: Tensor) -> Tensor:
        with torch.no_grad():
            return self.classifier(images).argmax(1)

    def fid(self, images: Tensor, real_features: Tensor) -> Dict[str, float]:
        f = self.extractor(images)
        p, r = precision_recall(real_features, f, 3)
        return {"fid": frechet_distance(real_features, f), "precision": p, "recall": r}

    # --- (a) paired ---------------------------------------------------------------------------
    def paired_tasks(self):
        a = self.args
        edges = make_task("edges", n=a.n, split="train", seed=a.seed)
        superres = make_task("superres", n=a.n, split="train", seed=a.seed, size=14)
        return edges, superres

    def paired_models(self):
        a = self.args
        edges, superres = self.paired_tasks()
        common = dict(width=a.width, batch_size=a.batch_size, seed=a.seed)
        models = {
            "pix2pix": self.train("pix2pix-s0", edges, TranslationConfig("pix2pix", **common), a.pix2pix_steps),
            "pix2pix L1 baseline": self.train("pix2pix-l1-s0", edges, TranslationConfig(
                "pix2pix", adversarial=False, **common), a.pix2pix_steps),
            "SRGAN": self.train("srgan-s0", superres, TranslationConfig("srgan", **common), a.srgan_steps),
            "SRGAN perceptual baseline": self.train("srgan-perc-s0", superres, TranslationConfig(
                "srgan", adversarial=False, **common), a.srgan_steps),
            "SRResNet-MSE baseline": self.train("srgan-mse-s0", superres, TranslationConfig(
                "srgan", adversarial=False, content="mse", **common), a.srgan_steps),
        }
        return {k: r.translator for k, r in models.items()}

    def part_paired(self) -> str:
        a = self.args
        gens = self.paired_models()
        x_test, y_test = garments("test", None, a.n_test, a.seed + 1)
        x_ref, _ = garments("test", None, 2 * a.n_test, a.seed + 1)
        x_ref = x_ref[a.n_test:]  # other real test images: the floor FID-local can reach at this size
        real_f = self.extractor(x_test)
        sources = {"edges": edge_map(x_test), "superres": downsample(x_test, 14)}
        task_of = {"pix2pix": "edges", "pix2pix L1 baseline": "edges", "SRGAN": "superres",
                   "SRGAN perceptual baseline": "superres", "SRResNet-MSE baseline": "superres"}
        rows, outs = [], {}
        for name, g in gens.items():
            src = sources[task_of[name]]
            q = translation_quality(g, src, x_test)
            out = translate(g, src)
            outs[name] = out
            q.update(self.fid(out, real_f))
            q["accuracy"] = self.accuracy(out, y_test)
            q["sharpness"] = sharpness(out) / sharpness(x_test)
            rows.append((name, q))
        ref = self.fid(x_ref, real_f)
        up = {"bicubic ×2 (no training)": torch.nn.functional.interpolate(
            sources["superres"], size=(28, 28), mode="bicubic", align_corners=False).clamp(0, 1)}
        for name, out in up.items():
            from robustgan.gan.translation.quality import psnr, ssim
            q = {"psnr": float(psnr(out, x_test).clamp(max=100).mean()), "ssim": float(ssim(out, x_test).mean()),
                 "l1": float((out - x_test).abs().mean()), **self.fid(out, real_f),
                 "accuracy": self.accuracy(out, y_test), "sharpness": sharpness(out) / sharpness(x_test)}
            rows.append((name, q))
        # grids: rows source | GAN | baseline | target (8 test examples)
        self.images.mkdir(parents=True, exist_ok=True)
        k = 8
        save_pixel_grid(torch.cat([sources["edges"][:k], outs["pix2pix"][:k], outs["pix2pix L1 baseline"][:k],
                                   x_test[:k]]), self.images / "translation-pix2pix.png", nrow=k, scale=2)
        save_pixel_grid(torch.cat([upsample_nearest(sources["superres"][:k], 28), outs["SRGAN"][:k],
                                   outs["SRGAN perceptual baseline"][:k], outs["SRResNet-MSE baseline"][:k],
                                   x_test[:k]]), self.images / "translation-srgan.png", nrow=k, scale=2)
        lines = [
            "## Translation: pix2pix and SRGAN against their non-adversarial baselines", "",
            f"Command: `{command_line()}`.", "", machine(), "",
            f"Training: {a.n} Fashion-MNIST training images (all classes), U-Net / SRResNet width {a.width} "
            f"(SRResNet: 4 residual blocks), batch {a.batch_size}, Adam 2e-4 (0.5, 0.999), seed {a.seed}; "
            f"pix2pix and its baseline {a.pix2pix_steps} steps each, the three SRGAN-family runs "
            f"{a.srgan_steps} steps each; a GAN and its baseline share the generator, the initial weights and "
            "the batch order. pix2pix: L_cGAN (conditional PatchGAN, BCE) + 100·L1; its baseline 100·L1 alone. "
            "SRGAN: perceptual content loss (MSE of the shipped classifier's `model.features.4` activations) "
            "+ 1e-3·adversarial; its baseline the content loss alone; SRResNet-MSE: pixel MSE alone.", "",
            f"Scored on {a.n_test} test images (edge maps / 14×14 area downsamples of them as sources). "
            "FID-local: Fréchet distance of the shipped classifier's penultimate features of the outputs "
            "against the real test garments (not Inception FID); precision/recall on the same features (k = 3); "
            f"the reference row scores {a.n_test} *other* real test images (the floor at this sample size). "
            "Sharpness: mean Sobel magnitude of outputs / of targets. Classifier accuracy: the shipped CNN "
            "on the outputs against the source garment's label.", "",
            "| model | FID-local ↓ | precision | recall | sharpness (1 = real) | PSNR (dB) | SSIM | L1 | "
            "classifier acc. | train CPU s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        secs = {"pix2pix": "pix2pix-s0", "pix2pix L1 baseline": "pix2pix-l1-s0", "SRGAN": "srgan-s0",
                "SRGAN perceptual baseline": "srgan-perc-s0", "SRResNet-MSE baseline": "srgan-mse-s0"}
        for name, q in rows:
            s = self.seconds.get(secs.get(name, ""), None)
            lines.append(f"| {name} | {q['fid']:.1f} | {q['precision']:.3f} | {q['recall']:.3f} | "
                         f"{q['sharpness']:.2f} | {q['psnr']:.2f} | {q['ssim']:.3f} | {q['l1']:.4f} | "
                         f"{q['accuracy']:.3f} | {'' if s is None else f'{s:.0f}'} |")
        lines.append(f"| real test images (reference) | {ref['fid']:.1f} | {ref['precision']:.3f} | "
                     f"{ref['recall']:.3f} | 1.00 | — | — | — | {self.accuracy(x_ref, garments('test', None, 2 * a.n_test, a.seed + 1)[1][a.n_test:]):.3f} | |")
        lines.append("")
        q = dict(rows)
        verdicts = []
        for gan, base in (("pix2pix", "pix2pix L1 baseline"), ("SRGAN", "SRGAN perceptual baseline"),
                          ("SRGAN", "SRResNet-MSE baseline")):
            g, b = q[gan], q[base]
            ok = g["fid"] < b["fid"] and abs(g["sharpness"] - 1) < abs(b["sharpness"] - 1)
            verdicts.append(f"- {gan} vs {base}: FID-local {g['fid']:.1f} vs {b['fid']:.1f}, sharpness "
                            f"{g['sharpness']:.2f} vs {b['sharpness']:.2f}, PSNR {g['psnr']:.2f} vs {b['psnr']:.2f} dB "
                            f"(Δ {g['psnr'] - b['psnr']:+.2f}) — GAN better on FID-local and sharpness: "
                            f"{'yes' if ok else 'NO'}")
        lines += ["Target: the GAN beats its baseline on FID-local and sharpness at comparable PSNR.", "", *verdicts,
                  "", "Sample grids (rows: source, GAN, baseline(s), target): `docs/images/translation-pix2pix.png`, "
                  "`docs/images/translation-srgan.png` (rows: 14×14 source, SRGAN, perceptual baseline, "
                  "SRResNet-MSE, target)."]
        self.dump("paired", {name: q for name, q in rows} | {"reference": ref})
        return "\n".join(lines)

    # --- (b) CycleGAN ----------------------------------------------------------------------------
    def cycle_model(self):
        a = self.args
        task = make_task("unpaired", n=a.n_cycle, split="train", seed=a.seed, classes=(7, 9))
        cfg = TranslationConfig("cyclegan", width=a.width, batch_size=a.batch_size, seed=a.seed,
                                lambda_identity=a.cycle_identity)
        return self.train(f"cyclegan-s0-id{a.cycle_identity:g}", task, cfg, a.cycle_steps)

    def part_cycle(self) -> str:
        a = self.args
        run = self.cycle_model()
        g_ab, g_ba = run.generators["G_ab"].eval(), run.generators["G_ba"].eval()
        xa, _ = garments("test", (7,), a.n_test_cycle, a.seed + 1)
        xb, _ = garments("test", (9,), a.n_test_cycle, a.seed + 2)
        fb, fa = translate(g_ab, xa), translate(g_ba, xb)
        ra, rb = translate(g_ba, fb), translate(g_ab, fa)
        res = {
            "a_to_b_target": float((self.predicted(fb) == 9).float().mean()),
            "b_to_a_target": float((self.predicted(fa) == 7).float().mean()),
            "a_real_as_a": float((self.predicted(xa) == 7).float().mean()),
            "b_real_as_b": float((self.predicted(xb) == 9).float().mean()),
            "cycle_l1_a": float((ra - xa).abs().mean()), "cycle_l1_b": float((rb - xb).abs().mean()),
            "change_l1_a": float((fb - xa).abs().mean()), "change_l1_b": float((fa - xb).abs().mean()),
        }
        real_b_f, real_a_f = self.extractor(xb), self.extractor(xa)
        res["fid_ab"] = frechet_distance(real_b_f, self.extractor(fb))
        res["fid_ba"] = frechet_distance(real_a_f, self.extractor(fa))
        res["fid_a_vs_b_real"] = frechet_distance(real_b_f, real_a_f)
        k = 8
        self.images.mkdir(parents=True, exist_ok=True)
        save_pixel_grid(torch.cat([xa[:k], fb[:k], ra[:k], xb[:k], fa[:k], rb[:k]]),
                        self.images / "translation-cyclegan.png", nrow=k, scale=2)
        ok = min(res["a_to_b_target"], res["b_to_a_target"]) >= 0.8
        lines = [
            "## Translation: CycleGAN sneakers ↔ ankle boots", "",
            f"Command: `{command_line()}`.", "", machine(), "",
            f"Training: {a.n_cycle} training sneakers (class 7) and {a.n_cycle} ankle boots (class 9), unpaired "
            f"(independent seeded orders); two U-Net generators and two unconditional PatchGANs of width {a.width}, "
            f"instance norm, LSGAN, λ_cycle 10, λ_identity {a.cycle_identity:g}·λ_cycle, image pools of 50, batch "
            f"{a.batch_size}, Adam 2e-4 (0.5, 0.999), {a.cycle_steps} steps ({self.seconds.get(run.checkpoint.parent.name, 0):.0f} s CPU). "
            f"Scored on {a.n_test_cycle} test sneakers and {a.n_test_cycle} test ankle boots by the shipped classifier.", "",
            "| direction | classified as the target class | cycle reconstruction L1 | mean |output − input| | "
            "FID-local vs real target class |",
            "|---|---:|---:|---:|---:|",
            f"| sneaker → ankle boot (G_ab) | {res['a_to_b_target']:.3f} | {res['cycle_l1_a']:.4f} | "
            f"{res['change_l1_a']:.4f} | {res['fid_ab']:.1f} |",
            f"| ankle boot → sneaker (G_ba) | {res['b_to_a_target']:.3f} | {res['cycle_l1_b']:.4f} | "
            f"{res['change_l1_b']:.4f} | {res['fid_ba']:.1f} |", "",
            f"References: the classifier reads {res['a_real_as_a']:.3f} of the real test sneakers as sneakers and "
            f"{res['b_real_as_b']:.3f} of the real test boots as boots; FID-local of real sneakers against real boots "
            f"{res['fid_a_vs_b_real']:.1f} (what an identity map would score).", "",
            f"Target: ≥ 80% of translations classified as the target domain (both directions): "
            f"{100 * res['a_to_b_target']:.1f}% and {100 * res['b_to_a_target']:.1f}% — {'met' if ok else 'NOT met'}.", "",
            "Sample grid `docs/images/translation-cyclegan.png` (rows: sneaker, G_ab(sneaker), G_ba(G_ab(sneaker)), "
            "boot, G_ba(boot), G_ab(G_ba(boot))).",
        ]
        self.dump("cycle", res)
        return "\n".join(lines)

    # --- (c) StarGAN -----------------------------------------------------------------------------
    def part_star(self) -> str:
        a = self.args
        classes = (5, 7, 9)
        task = make_task("domains", n=a.n, split="train", seed=a.seed, classes=classes)
        cfg = TranslationConfig("stargan", width=a.width, batch_size=a.batch_size, seed=a.seed)
        run = self.train("stargan-s0", task, cfg, a.star_steps)
        g = run.translator.eval()
        x, y = garments("test", classes, a.n_test_cycle, a.seed + 1)
        own = torch.tensor([classes.index(int(c)) for c in y])
        table = torch.zeros(3, 3)
        counts = torch.zeros(3, 3)
        outs = []
        for d in range(3):
            out = translate(g, x, d)
            outs.append(out)
            hit = (self.predicted(out) == classes[d]).float()
            for s in range(3):
                table[s, d] = hit[own == s].sum()
                counts[s, d] = (own == s).sum()
        off = ~torch.eye(3, dtype=torch.bool)
        other = float(table[off].sum() / counts[off].sum())
        all_targets = float(table.sum() / counts.sum())
        per = table / counts
        real_acc = float((self.predicted(x) == y).float().mean())
        k = 8
        self.images.mkdir(parents=True, exist_ok=True)
        save_pixel_grid(torch.cat([x[:k], *(o[:k] for o in outs)]), self.images / "translation-stargan.png",
                        nrow=k, scale=2)
        names = [FASHION_MNIST_CLASSES[c] for c in classes]
        ok = other >= 0.8
        lines = [
            "## Translation: StarGAN over sandals, sneakers, ankle boots", "",
            f"Command: `{command_line()}`.", "", machine(), "",
            f"Training: {a.n} training images of classes 5, 7, 9 with their domain labels; StarGenerator (U-Net, "
            f"width {a.width}, instance norm) and StarDiscriminator (PatchGAN + domain head), BCE, λ_cls 1, "
            f"λ_rec 10, batch {a.batch_size}, Adam 2e-4 (0.5, 0.999), {a.star_steps} steps "
            f"({self.seconds.get('stargan-s0', 0):.0f} s CPU). Scored on {x.shape[0]} test images of the three "
            "classes, each translated into every domain; the shipped classifier reads the outputs.", "",
            "Share classified as the requested class (rows: source domain, columns: requested domain):", "",
            "| source \\ target | " + " | ".join(names) + " |", "|---|" + "---:|" * 3,
            *[f"| {names[s]} | " + " | ".join(f"{per[s, d]:.3f}" for d in range(3)) + " |" for s in range(3)], "",
            f"- requested domain ≠ source domain: **{100 * other:.1f}%**; over all three targets (the diagonal is "
            f"reconstruction): {100 * all_targets:.1f}%; the classifier on the real inputs: {100 * real_acc:.1f}%.",
            f"- Target: ≥ 80% classified as the requested domain (off-diagonal): {'met' if ok else 'NOT met'}.", "",
            "Sample grid `docs/images/translation-stargan.png` (rows: input, → sandal, → sneaker, → ankle boot).",
        ]
        self.dump("star", {"other": other, "all": all_targets, "per": per.tolist(), "real_acc": real_acc})
        return "\n".join(lines)

    # --- (d) provenance ----------------------------------------------------------------------------
    def part_provenance(self) -> str:
        from robustgan.gan.postprocess import attribution_under_postprocessing

        a = self.args
        gens = self.paired_models()
        cyc = self.cycle_model()
        names = ["pix2pix", "SRGAN", "CycleGAN"]
        generators = [gens["pix2pix"], gens["SRGAN"], cyc.generators["G_ab"].eval()]
        n = a.per_source
        x_src, _ = garments("test", None, n, a.seed + 101)          # garments the paired sources come from
        sneakers, _ = garments("test", (7,), n, a.seed + 102)       # CycleGAN's sources
        real, _ = garments("test", None, 2 * n, a.seed + 103)       # real test images, then calibration ones
        real, calib = real[:n], real[n:]
        made = [translate(generators[0], edge_map(x_src)), translate(generators[1], downsample(x_src, 14)),
                translate(generators[2], sneakers)]
        inits = [lambda y: edge_map(y), lambda y: downsample(y, 14), lambda y: y.clone()]
        extra = {}
        if a.source_prior == "cycle":
            # CycleGAN G_ab was trained on sneakers: start from G_ba(y) and keep the source a fixed point of
            # G_ba ∘ G_ab (the cycle constraint), so a boot cannot pass through G_ab as its own source.
            from robustgan.gan.inversion.conditioned import round_trip

            g_ba = cyc.generators["G_ba"].eval()
            for p in g_ba.parameters():
                p.requires_grad_(False)
            inits[2] = lambda y: translate(g_ba, y)
            extra = {"source_term": [None, None, round_trip(generators[2], g_ba)], "source_weight": a.source_weight}
        t0 = time.process_time()
        rows = attribution_under_postprocessing(
            generators, made, real, calib, fpr=0.05, transforms=list(TRANSFORMS), names=names,
            restarts=a.inv_restarts, steps=a.inv_steps, seed=a.seed,
            source_kwargs={"lr": a.inv_lr, "init": inits, **extra})
        seconds = time.process_time() - t0
        self.dump("provenance", rows)
        cycle_init, prior = "the image itself", ""
        if a.source_prior == "cycle":
            cycle_init = "G_ba of the image"
            prior = (f". Source-domain prior for CycleGAN (`--source-prior cycle`): G_ab was trained on sneakers, and "
                     "its identity loss lets any image pass through it as its own source, so a real image is "
                     f"reproduced almost exactly; the inversion adds {a.source_weight:g}·‖x − G_ba(G_ab(x))‖²/P "
                     "(`round_trip` in `robustgan.gan.inversion.conditioned`: the source must survive the cycle, "
                     "i.e. lie in domain A). The score is still the pixel MSE ‖G(x*) − y‖²/P; the prior only "
                     "restricts where x* is searched")
        head = [
            "## Translation: provenance attribution among translation generators, and under post-processing", "",
            f"Command: `{command_line()}`.", "", machine(), "",
            "Generators: the pix2pix, SRGAN and CycleGAN (sneaker → ankle boot, G_ab) runs of the two sections "
            f"above. Test images: {n} translations per generator of held-out test sources (edge maps and 14×14 "
            f"downsamples of {n} test garments, {n} test sneakers) and {n} real test images (all classes); the "
            f"threshold on the smallest residual is calibrated for a 5% false-positive rate on {n} other real test "
            "images (clean) and kept for every transform. Inversion over each generator's source "
            f"(`invert_sources` via `attribution_under_postprocessing`): {a.inv_restarts} restart(s) × "
            f"{a.inv_steps} Adam steps (lr {a.inv_lr}), restart 0 from the image's edge map (pix2pix), its 14×14 "
            f"area downsample (SRGAN), {cycle_init} (CycleGAN){prior}; {seconds:.0f} s CPU for all transforms.", "",
        ]
        return "\n".join(head + self.postprocess_table(rows, "translation"))

    def postprocess_table(self, rows: List[dict], what: str) -> List[str]:
        clean = rows[0]
        lines = [
            "| post-processing | accuracy on generated | argmin accuracy | real labelled \"none\" | "
            "AUC generated vs real | median score generated | median score real |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in rows:
            lines.append(f"| {r['transform']} | {r['accuracy_generated']:.3f} | {r['argmin_accuracy_generated']:.3f} | "
                         f"{r['real_labelled_none']:.3f} | {r['auc'].get('generated vs real', float('nan')):.3f} | "
                         f"{r['median_score_generated']:.2e} | {r['median_score_real']:.2e} |")
        acc, none = clean["accuracy_generated"], clean["real_labelled_none"]
        lines += ["", f"Threshold {clean['threshold']:.3g} (calibration FPR {clean['calibration_fpr']:.3f}); "
                  f"per-generator AUC (clean): " + ", ".join(f"{k} {v:.3f}" for k, v in clean["auc"].items()) + ".", "",
                  f"Clean ({what}): accuracy on generated images {100 * acc:.1f}% (target ≥ 95%: "
                  f"{'met' if acc >= 0.95 else 'NOT met'}), real images labelled \"none of these\" {100 * none:.1f}% "
                  f"(target ≥ 90%: {'met' if none >= 0.9 else 'NOT met'})."]
        return lines

    def part_latent(self) -> str:
        from robustgan.data import load_dataset
        from robustgan.gan import GANConfig, load_generator, train_gan
        from robustgan.gan.inversion import generator_samples
        from robustgan.gan.postprocess import attribution_under_postprocessing

        a = self.args
        ds, _ = load_dataset("fashion-mnist", "train")
        x = ds.tensors[0][:a.n_dcgan]
        gens = []
        for seed in range(3):
            out = self.cache / f"dcgan-s{seed}"
            cfg = GANConfig(width=a.dcgan_width, latent_dim=a.dcgan_latent, batch_size=64, seed=seed)
            t0 = time.process_time()
            train_gan(x, None, cfg, steps=a.dcgan_steps, out_dir=out, resume=(out / "checkpoint.pt").exists(),
                      progress=False, sample_every=10 ** 9, checkpoint_every=500)
            print(f"[train] dcgan-s{seed}: {time.process_time() - t0:.0f} s", flush=True)
            gens.append(load_generator(out / "checkpoint.pt").eval())
        n = a.per_source
        made = [generator_samples(g, n, seed=a.seed + 7919 * (i + 1)) for i, g in enumerate(gens)]
        real, _ = garments("test", None, 2 * n, a.seed + 103)
        real, calib = real[:n], real[n:]
        t0 = time.process_time()
        rows = attribution_under_postprocessing(
            gens, made, real, calib, fpr=0.05, transforms=list(TRANSFORMS), names=["seed0", "seed1", "seed2"],
            restarts=a.latent_restarts, steps=a.latent_steps, lr=0.2, seed=a.seed)
        seconds = time.process_time() - t0
        self.dump("latent", rows)
        head = [
            "## Translation provenance: attribution of latent (DCGAN) generators under post-processing", "",
            f"Command: `{command_line()}`.", "", machine(), "",
            f"Generators: three DCGANs (width {a.dcgan_width}, latent {a.dcgan_latent}, non-saturating, batch 64, "
            f"{a.dcgan_steps} steps on the first {a.n_dcgan} training images, seeds 0, 1, 2; cached under "
            f"`{a.cache}/dcgan-sS`). Test images: {n} samples per generator and {n} real test images; threshold "
            f"for 5% FPR on {n} other real test images (clean), kept for every transform. Latent inversion: "
            f"{a.latent_restarts} restarts × {a.latent_steps} Adam steps (lr 0.2); {seconds:.0f} s CPU.", "",
        ]
        return "\n".join(head + self.postprocess_table(rows, "latent"))

    def dump(self, part: str, data) -> None:
        self.cache.mkdir(parents=True, exist_ok=True)
        (self.cache / f"results-{part}.json").write_text(json.dumps(data, indent=1, default=float))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default="paired", help=f"comma-separated, of {','.join(PARTS)}")
    ap.add_argument("--pix2pix-steps", type=int, default=1500)
    ap.add_argument("--srgan-steps", type=int, default=1500)
    ap.add_argument("--cycle-steps", type=int, default=1500)
    ap.add_argument("--cycle-identity", type=float, default=0.5, help="λ_identity as a fraction of λ_cycle")
    ap.add_argument("--star-steps", type=int, default=2000)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--n", type=int, default=6000, help="training images of the paired and StarGAN tasks")
    ap.add_argument("--n-cycle", type=int, default=3000, help="training images per CycleGAN domain")
    ap.add_argument("--n-test", type=int, default=1000)
    ap.add_argument("--n-test-cycle", type=int, default=500, help="test images per domain (CycleGAN, StarGAN)")
    ap.add_argument("--per-source", type=int, default=50, help="test images per source in the attribution tables")
    ap.add_argument("--inv-steps", type=int, default=150)
    ap.add_argument("--inv-restarts", type=int, default=1)
    ap.add_argument("--inv-lr", type=float, default=0.05)
    ap.add_argument("--source-prior", choices=("none", "cycle"), default="none",
                    help="cycle: CycleGAN G_ab's source starts at G_ba(y) and pays λ‖x − G_ba(G_ab(x))‖²/P")
    ap.add_argument("--source-weight", type=float, default=0.01, help="λ of --source-prior")
    ap.add_argument("--dcgan-steps", type=int, default=1000)
    ap.add_argument("--dcgan-width", type=int, default=16)
    ap.add_argument("--dcgan-latent", type=int, default=32)
    ap.add_argument("--n-dcgan", type=int, default=20000)
    ap.add_argument("--latent-steps", type=int, default=200)
    ap.add_argument("--latent-restarts", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache", default=str(ROOT / "runs" / "bench-translation"))
    ap.add_argument("--images", default=str(ROOT / "docs" / "images"))
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args(argv)
    args.part_list = [p for p in args.parts.split(",") if p]
    unknown = set(args.part_list) - set(PARTS)
    if unknown:
        ap.error(f"unknown parts {sorted(unknown)}: choose from {PARTS}")
    return args


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    parts = args.part_list
    bench = Bench(args)
    for part in parts:
        t0 = time.perf_counter()
        text = getattr(bench, f"part_{part}")()
        print(text + f"\n\n[{part}: {time.perf_counter() - t0:.0f} s wall]\n", flush=True)
        if args.write:
            write_section(f"translation-{part}", text)


if __name__ == "__main__":
    main()
