"""Feature inversion (Mahendran & Vedaldi 2015): what each layer of the classifier keeps of an image.

Run: python examples/visualize_inversion.py   (writes visualize-out/inversion.png)
"""
from pathlib import Path

from robustgan.data import load_dataset, take
from robustgan.models import load_classifier
from robustgan.models.default import default_checkpoint_path
from robustgan.visualize import invert_layers, save_grid

model = load_classifier(default_checkpoint_path())
x, _ = take(load_dataset("fashion-mnist", "test")[0], 3)
layers = ["model.features.1", "model.features.4", "model.penultimate.2", "model.classifier"]  # shallow → deep

results = invert_layers(model, x, layers, steps=300, lambda_tv=0.05, beta=2.0, lambda_alpha=1e-3, alpha=6.0,
                        progress=True)
cells, titles = [], []
for i in range(x.shape[0]):
    cells += [x[i]] + [r.x[i] for r in results]
    titles += ["original"] + [f"{r.layer}\nerror {float(r.error[i]):.3f}" for r in results]
save_grid(cells, Path("visualize-out") / "inversion.png", titles=titles, ncols=1 + len(layers))
for r in results:
    print(f"{r.layer:>22}: normalised feature error {float(r.error.mean()):.3f}")
