"""Train a small DCGAN on Fashion-MNIST for a couple of CPU minutes, measure it, and explore its latents.

Run: python examples/gan_train_fmnist.py [--steps 800] [--out gan-example]

Writes to OUT: checkpoint.pt (resumable: run again with --resume to continue), samples/ (a grid
every 200 steps), interpolation.png (spherical interpolation between random latents) and prints
FID-local of the trained and of an untrained generator (features of the shipped classifier, not
Inception: compare these numbers with each other only).
"""
import argparse
from pathlib import Path

import torch

from robustgan.data import load_dataset, take
from robustgan.gan import GANConfig, build_models, load_generator, train_gan
from robustgan.gan.grid import save_pixel_grid
from robustgan.gan.latent import interpolation_grid
from robustgan.gan.metrics import FeatureExtractor, class_counts, frechet_distance, generate

ap = argparse.ArgumentParser()
ap.add_argument("--steps", type=int, default=800)
ap.add_argument("--out", type=Path, default=Path("gan-example"))
ap.add_argument("--resume", action="store_true")
args = ap.parse_args()

try:
    train, _ = load_dataset("fashion-mnist", "train")
    x, y = train.tensors[0][:20000], train.tensors[1][:20000]
except FileNotFoundError:  # only the 1,000 shipped test images are available
    x, y = take(load_dataset("fashion-mnist", "test")[0], None)

config = GANConfig(loss="non-saturating", width=16, latent_dim=64, batch_size=32, ema=0.99, seed=0)
run = train_gan(x, y, config, steps=args.steps, out_dir=args.out, resume=args.resume, sample_every=200)
print(f"trained {run.step} steps; last losses: D {run.history[-1]['d_loss']:.3f}, G {run.history[-1]['g_loss']:.3f}")

# the API later tools build on: one call gives a generator with latent_dim (and num_classes)
g = load_generator(args.out / "checkpoint.pt")
real, _ = take(load_dataset("fashion-mnist", "test")[0], 1000)
extractor = FeatureExtractor.default()
untrained, _ = build_models(config, 28, 1)
fake = generate(g, 1000, seed=1)
print(f"FID-local: trained {frechet_distance(extractor(real), extractor(fake)):.1f}, "
      f"untrained {frechet_distance(extractor(real), extractor(generate(untrained, 1000, seed=1))):.1f}")
print("samples per class (mode-collapse check):", class_counts(extractor.model, fake)["counts"])

gen = torch.Generator().manual_seed(0)
z0, z1 = g.sample_latent(6, gen), g.sample_latent(6, gen)
with torch.no_grad():
    save_pixel_grid(g(interpolation_grid(z0, z1, steps=10)), args.out / "interpolation.png", nrow=10)
print(f"wrote {args.out}/samples/, {args.out}/interpolation.png and {args.out}/checkpoint.pt")
