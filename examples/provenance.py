"""Which of K generators made an image, or none of them: GAN inversion + a calibrated threshold.

    OMP_NUM_THREADS=1 python examples/provenance.py runs/gan-a/checkpoint.pt runs/gan-b/checkpoint.pt ...

Every image is inverted under every generator in one batched run (restarts × generators × images
as rows of the one optimiser); an image goes to the generator with the smallest residual
‖G(z*) − x‖², or to "none of these" when that residual is not below a threshold set on held-out
real images for a 5% false-positive rate. The CLI equivalent, with ROC/confusion PNGs:
``robustgan attribute --generator A --generator B ... --out runs/attribution``.
"""
from __future__ import annotations

import sys

import torch

from robustgan.data import load_dataset, take
from robustgan.gan import load_generator
from robustgan.gan.inversion import NONE, attribute_images, attribution_experiment
from robustgan.gan.inversion.plots import plot_confusion, plot_roc
from robustgan.gan.metrics import generate

paths = sys.argv[1:]
if len(paths) < 2:
    sys.exit(__doc__)
torch.set_num_threads(1)
generators = [load_generator(p) for p in paths]
names = [f"G{i}" for i in range(len(generators))]
ds, _ = load_dataset("fashion-mnist", "test")
real, _ = take(ds, 60)  # 20 to attribute, 40 held out for the threshold

run = attribution_experiment(generators, real[:20], real[20:], names=names, num_generated=10, fpr=0.05,
                             restarts=2, steps=300)
r = run.report
print(f"threshold {r['threshold']:.5f}: generated images attributed correctly {r['accuracy_generated']:.0%}, "
      f"real images labelled 'none' {r['real_labelled_none']:.0%}")
print("confusion (rows: true source, columns: decision):", r["confusion"]["labels"])
for row in r["confusion"]["matrix"]:
    print("  ", row)
plot_roc(r["roc"], "provenance-roc.png")
plot_confusion(r["confusion"]["matrix"], r["confusion"]["labels"], "provenance-confusion.png")

# later: attribute new images with the same threshold
new = torch.cat([generate(generators[0], 2, seed=123), real[:1]])
att = attribute_images(generators, new, r["threshold"], restarts=2, steps=300)
print("new images:", ["none" if int(d) == NONE else names[int(d)] for d in att.decision])
