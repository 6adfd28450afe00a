"""Fooling images (Nguyen et al. 2015): one image per class, ≥ 99.99% confident, grown from the mean image.

Run: python examples/visualize_fooling.py   (writes visualize-out/fooling.png and fooling.json)
"""
from pathlib import Path

from robustgan.data import FASHION_MNIST_CLASSES, load_dataset, take
from robustgan.models import load_classifier
from robustgan.models.default import default_checkpoint_path
from robustgan.visualize import fooling_images, save_grid, write_json

out = Path("visualize-out")
model = load_classifier(default_checkpoint_path())
x, _ = take(load_dataset("fashion-mnist", "test")[0], None)
mean = x.mean(0, keepdim=True)                       # the start: the dataset mean (+ a little noise)

res = fooling_images(model, mean, confidence=0.9999, steps=1000, seed=0, progress=True)
titles = [f"{FASHION_MNIST_CLASSES[c]}\n{p:.4%} in {s} steps"
          for c, p, s in zip(res.classes.tolist(), res.confidence.tolist(), res.steps.tolist())]
save_grid(res.images, out / "fooling.png", titles=titles, ncols=5)
write_json(res.summary(FASHION_MNIST_CLASSES), out / "fooling.json")
print(f"{int(res.success.sum())}/10 classes at ≥ 99.99%; L2 from the mean: {res.l2_from_mean.numpy().round(2)}")
