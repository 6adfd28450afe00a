"""Texture synthesis (Gatys et al. 2015) of a real photograph with a random multi-scale CNN.

The dahlia photo ships with scikit-learn (`pip install 'robustgan[photos]'`); the feature network
has random weights (Ustyuzhaninov et al. 2016), so nothing is downloaded. A couple of CPU minutes.
Run: python examples/visualize_texture.py   (writes visualize-out/texture.png and texture_photo.png)
"""
from pathlib import Path

from robustgan.visualize import RandomMultiScaleCNN, load_image, save_grid, save_image, synthesize_texture

out = Path("visualize-out")
petals = load_image("flower", crop=(110, 190, 220, 220), size=96)   # (1, 3, 96, 96) in [0, 1]
network = RandomMultiScaleCNN(in_channels=3, sizes=(3, 5, 7, 11, 15, 23), filters=64, seed=0)

res = synthesize_texture(petals, network=network, size=(128, 128), steps=300, optimizer="lbfgs", seed=0,
                         progress=True)
save_image(res.x, out / "texture_photo.png")
save_grid([petals[0], res.x[0]], out / "texture.png", titles=["photo", "synthesised texture"], cell=3.0)
print(f"Gram loss {float(res.loss_start):.4g} → {float(res.loss_end):.4g} "
      f"(×{float(res.loss_start / res.loss_end):.0f} lower)")
