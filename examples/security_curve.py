"""The whole robust-accuracy-vs-ε curve of one threat model from one run of each minimal-norm attack.

DeepFool, FMN and DDN run on the same 100 correctly classified points at the same budget of 201
forward + backward passes per point; the envelope keeps, per point, the smallest distortion any of
them found, and each attack's optimality says how close its curve comes to the envelope.
"""
import torch

from robustgan.data import load_dataset, take
from robustgan.evaluate.security import security_curve
from robustgan.evaluate.sweep import predict
from robustgan.models import load_classifier
from robustgan.models.default import default_checkpoint_path

model = load_classifier(default_checkpoint_path())
x, y = take(load_dataset("fashion-mnist", "test")[0], 200)
correct = (predict(model, x, 200) == y).nonzero().squeeze(1)[:100]

sc = security_curve(model, x, y, correct, "l2", ["deepfool", "fmn", "ddn"], queries=201, eps_max=2.0,
                    batch_size=100)
for name, row in sc.rows.items():
    print(f"{name:9s} success {100 * row['success_rate']:5.1f}%  median ‖δ‖₂ {row['median']:.3f}  "
          f"optimality {row['optimality']:.3f}  queries {row.get('queries', float('nan')):.0f}")
for eps in (0.25, 0.5, 1.0, 1.5):
    share = float((sc.best > eps).float().mean())
    print(f"ε = {eps:4.2f}: {100 * share:5.1f}% of the points survive every attack")
assert torch.isfinite(sc.best).all()
