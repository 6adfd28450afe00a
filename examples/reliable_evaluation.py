"""Evaluate a model the way a reviewer would: a strong attack suite plus gradient-masking checks.

Runs the standard suite (APGD-CE, APGD-T, FAB-T, Square) on the shipped classifier, then shows how
the self-checks catch a model whose robustness is fake: the same classifier behind a
non-differentiable input quantisation, which defeats PGD but not the gradient-free Square attack.
"""
import torch
from torch import nn

import attacks
from robustgan.data import load_dataset, take
from robustgan.evaluate.checks import attack_checks, model_checks
from robustgan.evaluate.suite import SuiteSettings, run_suite
from robustgan.models import load_classifier
from robustgan.models.default import default_checkpoint_path


class Quantized(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(torch.round(x * 8) / 8)  # zero gradient almost everywhere


model = load_classifier(default_checkpoint_path())
x, y = take(load_dataset("fashion-mnist", "test")[0], 200)

suite = run_suite(model, x, y, eps=0.05, norm="linf", suite="standard", settings=SuiteSettings(steps=20, queries=500))
print(f"standard suite at ε=0.05: robust accuracy {100 * suite.robust_accuracy:.1f}%")
for row in suite.rows:
    print(f"  {row['attack']:8s} broke {row['broken']:3d} of {row['attacked']:3d} points")

masked = Quantized(model)
pgd = attacks.pgd(masked, x, y, 0.1, steps=20, seed=0)
square = attacks.square(masked, x, y, 0.1, steps=500, seed=0)
print(f"quantised model at ε=0.1: PGD robust accuracy {100 * (1 - pgd.success.float().mean()):.1f}%, "
      f"Square {100 * (1 - square.success.float().mean()):.1f}%")
for check in model_checks(masked, x[:100], y[:100]) + attack_checks(masked, x[:100], y[:100], "linf", [0.05, 0.1]):
    print(("ok     " if check.passed else "FAILED ") + f"{check.name}: {check.detail}")
