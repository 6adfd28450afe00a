"""DeepDream: amplify what a convolutional layer sees, coarse to fine, with jitter.

Run: python examples/visualize_dream.py   (writes visualize-out/dream.png)
"""
from pathlib import Path

import torch.nn.functional as F

from robustgan.data import load_dataset, take
from robustgan.models import load_classifier
from robustgan.models.default import default_checkpoint_path
from robustgan.visualize import deepdream, save_grid

model = load_classifier(default_checkpoint_path())
x, _ = take(load_dataset("fashion-mnist", "test")[0], 4)
x = F.interpolate(x, size=(56, 56), mode="bilinear", align_corners=False).clamp(0, 1)  # any size: the cut is conv

res = deepdream(model, x, "model.features.4", octaves=4, octave_scale=1.4, steps=25, step_size=0.01, jitter=2,
                progress=True)
save_grid(list(x) + list(res.x), Path("visualize-out") / "dream.png", ncols=4,
          titles=["input"] * 4 + [f"×{a:.1f} energy" for a in (res.energy_after / res.energy_before).tolist()])
