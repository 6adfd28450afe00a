"""``preview.png`` beside a crafted dataset: what the run made, at a glance."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
from torch import nn
from torch.utils.data import Dataset

from ..optim import frozen
from ..report import labelled_grid, plot_adversarial_grid
from .dataset import CraftedDataset


def write_preview(directory: Path, model: nn.Module, source: Dataset, classes: Sequence[str],
                  count: int = 8, device: str = "cpu") -> Path:
    """Adversarial sets: clean / adversarial / difference, captioned with the class and the model's
    answer (and its confidence). The other kinds: the crafted images over their originals."""
    from .job import gather

    data = CraftedDataset(directory, partial=True)
    n = min(count, len(data))
    index = data.extras["index"][:n]
    clean, _ = gather(source, index)
    crafted, labels = data.x[:n], data.y[:n]
    with frozen([model]), torch.no_grad():
        probs = model(crafted.to(device)).softmax(dim=1).cpu()
    conf, pred = probs.max(dim=1)
    path = Path(directory) / "preview.png"
    name = [str(c) for c in classes]
    if data.kind == "adversarial":
        return plot_adversarial_grid(clean, crafted, [name[int(c)] for c in labels],
                                     [f"{name[int(p)]} {c:.0%}" for p, c in zip(pred, conf)], path,
                                     f"{data.manifest['params']['attack']} ε={data.manifest['params']['eps']}: "
                                     f"first {n} examples")
    source = data.extras.get("source_label", labels)[:n]
    captions = [[name[int(c)] for c in source],
                [f"labelled {name[int(c)]}\nmodel: {name[int(p)]} {q:.0%}" for c, p, q in zip(labels, pred, conf)]]
    return labelled_grid([clean, crafted], ["original", data.kind], captions, path,
                         f"{data.manifest['description']}: first {n} examples")
