"""Craft an adversarial test set, store it as 8-bit PNGs that still fool, and see how far it transfers.

1. 1,000 test images attacked with VMI-FGSM (L∞ ε = 0.1) on the shipped CNN, crafted
   quantisation-aware, so that the 8-bit images stay inside the ball and keep fooling;
2. exported as an image folder and read back;
3. judged by the shipped CNN and by an MLP trained here for a minute: the transfer matrix.

Run: python examples/adversarial_datasets.py        (about two CPU minutes)
"""
from pathlib import Path

import torch
from torch import nn

from robustgan.data import load_dataset, take
from robustgan.features import CraftConfig, CraftedDataset, craft
from robustgan.features.export import export_crafted
from robustgan.models import Normalized, load_classifier
from robustgan.models.default import default_checkpoint_path
from robustgan.models.zoo import MLP
from robustgan.transfer import transfer_matrix

out = Path("runs/example-adversarial")
cnn = load_classifier(default_checkpoint_path())
test, info = load_dataset("fashion-mnist", "test")

# 1. resumable shards: stop at any time and run again, finished shards are kept
cfg = CraftConfig(kind="adversarial", attack="vmifgsm", eps=0.1, steps=10, quantize=True, count=1000)
craft(cnn, test, out / "shards", cfg, num_classes=10, source_name="fashion-mnist", classes=info.classes)
crafted = CraftedDataset(out / "shards")
print(f"crafted {len(crafted)} images; they fool the CNN {crafted.extras['success'].float().mean():.1%} of the time")

# 2. 8-bit PNGs in class folders, and back
if not (out / "png").exists():
    report = export_crafted(out / "shards", "png", out / "png", model=cnn)
    print(f"as PNG: goal rate {report['goal_rate_as_stored']:.1%} (as crafted {report['goal_rate_as_crafted']:.1%}), "
          f"{report['outside_ball_as_stored']} outside the ball")
png, _ = load_dataset(f"folder:{out / 'png'}")
print(f"{len(png)} PNGs read back, first image shape {tuple(png[0][0].shape)}")

# 3. a differently shaped model, and the matrix (clean-correct points only)
x, y = take(load_dataset("fashion-mnist", "train")[0], 6000)
torch.manual_seed(0)
mlp = Normalized(MLP(width=128), (0.286,), (0.353,))
opt = torch.optim.Adam(mlp.parameters(), 1e-3)
for epoch in range(3):
    for i in range(0, len(x), 100):
        opt.zero_grad()
        nn.functional.cross_entropy(mlp(x[i:i + 100]), y[i:i + 100]).backward()
        opt.step()
mlp.eval()
clean, _ = take(test, 1000)
result = transfer_matrix({}, {"cnn": cnn, "mlp": mlp}, clean, crafted.y, crafted={"cnn": crafted.x})
print(result.markdown())
