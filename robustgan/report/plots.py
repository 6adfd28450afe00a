"""Figures people would rather look at than read: accuracy-vs-ε curves and image grids."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, Optional, Sequence, Union

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from torch import Tensor  # noqa: E402


def save_figure(fig, path: Union[str, Path], dpi: int = 120) -> Path:
    """Lay out, write (making the folder) and close a figure: closing keeps long jobs' memory flat.
    The file is written beside its destination and renamed, so a reader never sees half an image."""
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    try:
        fig.savefig(tmp, dpi=dpi)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if tmp.exists():
            tmp.unlink()
    return path


def plot_accuracy_curves(curves: Dict[str, Dict[str, Sequence[float]]], path: Path, title: str = "") -> Path:
    """``curves[norm][label] = (eps list, accuracy list)``; one panel per norm."""
    norms = list(curves)
    fig, axes = plt.subplots(1, max(len(norms), 1), figsize=(5.2 * max(len(norms), 1), 4), squeeze=False)
    for ax, norm in zip(axes[0], norms):
        for label, (eps, acc) in curves[norm].items():
            ys = [100 * a for a in acc]
            if label == "envelope":  # the per-point best of the minimal-norm attacks: the tightest curve
                ax.plot(eps, ys, "-", color="black", linewidth=2.2, label="envelope (best per point)", zorder=5)
                continue
            style = "-" if "sweep" in label or label.upper().startswith(("PGD", "FGSM")) else "--"
            ax.plot(eps, ys, style, marker="o" if style == "-" else None, label=label)
        ax.set_xlabel(f"ε ({norm})")
        ax.set_ylabel("robust accuracy (%)")
        ax.set_ylim(-2, 102)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        ax.set_title(f"{norm} threat model")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_adversarial_grid(clean: Tensor, adversarial: Tensor, labels: Sequence[str], preds: Sequence[str],
                          path: Path, title: Optional[str] = None) -> Path:
    """Rows: clean, adversarial, amplified difference; one column per example."""
    n = clean.shape[0]
    fig, axes = plt.subplots(3, n, figsize=(1.6 * n, 5.2), squeeze=False)
    for i in range(n):
        c = clean[i].detach().cpu().permute(1, 2, 0).numpy()
        a = adversarial[i].detach().cpu().permute(1, 2, 0).numpy()
        d = a - c
        scale = max(float(np.abs(d).max()), 1e-8)
        cmap = "gray" if c.shape[2] == 1 else None
        axes[0, i].imshow(c.squeeze(2) if cmap else c, cmap=cmap, vmin=0, vmax=1)
        axes[0, i].set_title(labels[i], fontsize=7)
        axes[1, i].imshow(a.squeeze(2) if cmap else a, cmap=cmap, vmin=0, vmax=1)
        axes[1, i].set_title(f"→ {preds[i]}", fontsize=7, color="crimson")
        shown = d.mean(axis=2) if d.shape[2] > 1 else d.squeeze(2)
        axes[2, i].imshow(shown / scale, cmap="seismic", vmin=-1, vmax=1)
        axes[2, i].set_title(f"±{scale:.3f}", fontsize=7)
        for r in range(3):
            axes[r, i].axis("off")
    for r, name in enumerate(("clean", "adversarial", "difference")):
        axes[r, 0].text(-0.15, 0.5, name, transform=axes[r, 0].transAxes, rotation=90, va="center", ha="right", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def labelled_grid(rows: Sequence[Tensor], row_names: Sequence[str], captions: Sequence[Sequence[str]], path: Path,
                  title: Optional[str] = None, marked: Optional[Sequence[Sequence[bool]]] = None) -> Path:
    """Image rows with a caption under every tile (class, residual, confidence …) and a name per row,
    at a size people can read (each tile about 1.3 inches); ``marked`` tiles get a red caption."""
    n_rows, n_cols = len(rows), max(r.shape[0] for r in rows)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.35 * n_cols + 0.8, 1.5 * n_rows + 0.4), squeeze=False)
    for r, images in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r, c]
            ax.axis("off")
            if c >= images.shape[0]:
                continue
            img = images[c].detach().cpu().clamp(0, 1).permute(1, 2, 0).numpy()
            grey = img.shape[2] == 1
            ax.imshow(img.squeeze(2) if grey else img, cmap="gray" if grey else None, vmin=0, vmax=1)
            hot = bool(marked[r][c]) if marked is not None else False
            ax.set_title(captions[r][c], fontsize=7, color="crimson" if hot else "black")
        axes[r, 0].text(-0.12, 0.5, row_names[r], transform=axes[r, 0].transAxes, rotation=90, va="center",
                        ha="right", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)
