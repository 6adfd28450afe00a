"""Writing results: JSON, plots, image grids, Markdown."""
from .markdown import evaluation_markdown
from .plots import plot_accuracy_curves, plot_adversarial_grid

__all__ = ["evaluation_markdown", "plot_accuracy_curves", "plot_adversarial_grid"]
