"""Figures of an attribution run: ROC curves with AUC, the confusion matrix, and reconstructions."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from ...report.plots import save_figure  # noqa: E402


def plot_roc(rocs: Dict[str, Dict[str, List[float]]], path: Path, title: str = "") -> Path:
    """One curve per entry of ``rocs`` (``{"fpr", "tpr", "auc"}``), AUC in the legend."""
    fig, ax = plt.subplots(figsize=(5, 4.5))
    for name, r in rocs.items():
        ax.plot(r["fpr"], r["tpr"], "--" if name == "generated vs real" else "-", label=f"{name} (AUC {r['auc']:.4f})")
    ax.plot([0, 1], [0, 1], ":", color="grey", lw=0.8)
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title or "attribution ROC (score: −residual)")
    return save_figure(fig, path)


def plot_confusion(matrix: Sequence[Sequence[int]], labels: Sequence[str], path: Path, title: str = "") -> Path:
    """Counts with rows = true source and columns = decision."""
    m = torch.as_tensor(matrix).double()
    fig, ax = plt.subplots(figsize=(1.1 * len(labels) + 2, 1.0 * len(labels) + 1.6))
    shares = m / m.sum(dim=1, keepdim=True).clamp_min(1)
    ax.imshow(shares.numpy(), cmap="Blues", vmin=0, vmax=1)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(j, i, str(int(m[i, j])), ha="center", va="center", color="white" if shares[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("decision")
    ax.set_ylabel("true source")
    ax.set_title(title or "attribution confusion matrix")
    return save_figure(fig, path)
