"""Activation maximisation: synthesised inputs vs the test images that excite a unit or a random direction.

Szegedy et al. (2013) compared natural-basis units with random directions of a layer; here both, by
synthesis (Fourier parametrisation, jitter and scale robustness) and by retrieval from the test set.
Run: python examples/visualize_maximize.py   (writes visualize-out/maximize_*.png)
"""
from pathlib import Path

from robustgan.data import load_dataset, take
from robustgan.models import load_classifier
from robustgan.models.default import default_checkpoint_path
from robustgan.visualize import maximize_activation, save_grid

model = load_classifier(default_checkpoint_path())
x, _ = take(load_dataset("fashion-mnist", "test")[0], None)

for kind in ("unit", "direction"):
    res = maximize_activation(model, "model.penultimate.2", kind=kind, indices=[1, 2, 3, 5], n_directions=4,
                              dataset=x, top_k=5, steps=200, parametrization="fourier", jitter=1,
                              scales=[0.95, 1.0, 1.05], seed=0, progress=True)
    cells, titles = [], []
    for i, label in enumerate(res.labels):
        cells += [res.x[i], *res.top.images[i]]
        titles += [f"{label}\n{float(res.activation[i]):.1f}"] + [f"{float(v):.1f}" for v in res.top.values[i]]
    save_grid(cells, Path("visualize-out") / f"maximize_{kind}.png", titles=titles, ncols=6)
    print(kind, "synthesised:", res.activation.numpy().round(2), "test-set max:", res.top.maximum.numpy().round(2))
