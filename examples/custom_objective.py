"""Compose your own attack from the optimiser's parts: a DLR + CE objective, L2 ball, restarts.

Run: python examples/custom_objective.py
"""
import torch

from robustgan.data import load_dataset, take
from robustgan.models import load_classifier
from robustgan.models.default import default_checkpoint_path
from robustgan.objectives import DLR, CrossEntropy
from robustgan.optim import L2Ball, Box, NormalizedGradient, optimize, uniform_in_ball

model = load_classifier(default_checkpoint_path())
x, y = take(load_dataset("fashion-mnist", "test")[0], 100)

result = optimize(
    model, x, -(DLR() + 0.1 * CrossEntropy()),          # ascend DLR plus a little CE
    step=NormalizedGradient(0.25), steps=30, constraint=L2Ball(1.5) & Box(0, 1), target=y,
    restarts=3, init=uniform_in_ball("l2"), generator=torch.Generator().manual_seed(0),
    success=lambda ev: ev.logits.argmax(1) != ev.target, stop_on_success=True, progress=True,
)
print(f"fooled {result.success.float().mean():.2%} of the points within ‖δ‖₂ ≤ 1.5;"
      f" mean steps used {result.steps.float().mean():.1f} of 30")
