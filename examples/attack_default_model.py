"""Attack the shipped Fashion-MNIST classifier with PGD and L-BFGS, and save an image grid.

Run: python examples/attack_default_model.py
"""
import torch

import attacks
from robustgan.data import FASHION_MNIST_CLASSES as CLASSES
from robustgan.data import load_dataset, take
from robustgan.models import load_classifier
from robustgan.models.default import default_checkpoint_path
from robustgan.report import plot_adversarial_grid

model = load_classifier(default_checkpoint_path())
x, y = take(load_dataset("fashion-mnist", "test")[0], 200)
with torch.no_grad():
    print(f"clean accuracy: {(model(x).argmax(1) == y).float().mean():.3f}")

pgd = attacks.pgd(model, x, y, eps=0.1, steps=20, seed=0)
print(f"PGD-20 L∞ ε=0.1: robust accuracy {1 - pgd.success.float().mean():.3f}")

target = (y[:20] + 1) % 10
lb = attacks.lbfgs(model, x[:20], y[:20], target=target)
print(f"L-BFGS targeted: success {lb.success.float().mean():.2f}, median ‖δ‖₂ {lb.distance[lb.success].median():.3f}")

with torch.no_grad():
    pred = model(lb.x[:8]).argmax(1)
plot_adversarial_grid(x[:8], lb.x[:8], [CLASSES[i] for i in y[:8]], [CLASSES[i] for i in pred],
                      "lbfgs_examples.png", "Szegedy L-BFGS, target = next class")
print("wrote lbfgs_examples.png")
