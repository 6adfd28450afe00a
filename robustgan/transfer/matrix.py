"""The transfer matrix: examples crafted on each source model, judged on each target model.

A cell is the share of examples that fool the target, among the points that the source and the
target both classify correctly when clean (a point one of them already gets wrong says nothing
about transfer). The diagonal, where source and target are the same model, is the white-box rate.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from ..models.predict import predict


@dataclass
class TransferResult:
    sources: List[str]
    targets: List[str]
    rate: List[List[float]]  # rate[i][j]: examples from source i that fool target j
    counted: List[List[int]]  # points both classify correctly, the cell's denominator
    clean_accuracy: Dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"sources": self.sources, "targets": self.targets, "rate": self.rate, "counted": self.counted,
                "clean_accuracy": self.clean_accuracy,
                "cell": "fooled / clean-correct on both source and target"}

    def markdown(self) -> str:
        head = "| source \\ target | " + " | ".join(self.targets) + " |"
        rule = "|---|" + "---:|" * len(self.targets)
        rows = [f"| {s} | " + " | ".join(f"{100 * r:.1f}% (n={n})" for r, n in zip(rates, counts)) + " |"
                for s, rates, counts in zip(self.sources, self.rate, self.counted)]
        return "\n".join([head, rule, *rows])


def craft_in_batches(attack: Callable, model: nn.Module, x: Tensor, y: Tensor, batch: int = 250,
                     device: str = "cpu", progress: bool = False, desc: str = "craft") -> Tensor:
    """``attack(model, x, y).x`` over batches, on the CPU."""
    parts = []
    for i in tqdm(range(0, len(x), batch), desc=desc, disable=not progress, leave=False):
        parts.append(attack(model, x[i:i + batch].to(device), y[i:i + batch].to(device)).x.detach().cpu())
    return torch.cat(parts)


def transfer_matrix(sources: Dict[str, nn.Module], targets: Dict[str, nn.Module], x: Tensor, y: Tensor,
                    attack: Optional[Callable] = None, *, crafted: Optional[Dict[str, Tensor]] = None,
                    batch: int = 250, device: str = "cpu", progress: bool = False) -> TransferResult:
    """Craft ``attack(model, x, y)`` on every source (or take ``crafted[name]``, images already
    made from ``x``) and judge the images on every target."""
    crafted = dict(crafted or {})
    if attack is None and set(sources) - set(crafted):
        raise ValueError("attack: give an attack, or crafted images for every source")
    y = y.long().cpu()
    clean = {name: predict(m, x, device=device) == y for name, m in {**sources, **targets}.items()}
    for name, m in sources.items():
        if name not in crafted:
            crafted[name] = craft_in_batches(attack, m, x, y, batch, device, progress, desc=f"craft on {name}")
    names = list(sources) + [n for n in crafted if n not in sources]
    rate, counted = [], []
    for s in names:
        adv = crafted[s]
        if adv.shape != x.shape:
            raise ValueError(f"crafted images of {s} have shape {tuple(adv.shape)}, the clean ones {tuple(x.shape)}")
        row_rate, row_n = [], []
        for t, m in targets.items():
            both = clean[t] & clean.get(s, torch.ones_like(clean[t]))
            fooled = predict(m, adv, device=device) != y
            n = int(both.sum())
            row_rate.append(float((fooled & both).sum()) / max(n, 1))
            row_n.append(n)
        rate.append(row_rate)
        counted.append(row_n)
    accuracy = {k: float(v.float().mean()) for k, v in clean.items()}
    return TransferResult(names, list(targets), rate, counted, accuracy)


def plot_matrix(result: TransferResult, path, title: str = "transfer success") -> None:
    """A heat map of the matrix, each cell labelled with its rate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = torch.tensor(result.rate) * 100
    fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(result.targets), 1.2 + 0.8 * len(result.sources)))
    im = ax.imshow(data, vmin=0, vmax=100, cmap="viridis")
    ax.set_xticks(range(len(result.targets)), result.targets, rotation=30, ha="right")
    ax.set_yticks(range(len(result.sources)), result.sources)
    ax.set_xlabel("target model")
    ax.set_ylabel("source (crafted on)")
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            ax.text(j, i, f"{data[i, j]:.0f}%", ha="center", va="center", color="white" if data[i, j] < 60 else "black")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="fooled (%)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
