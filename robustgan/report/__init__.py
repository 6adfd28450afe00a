"""Writing results: JSON, plots, image grids, Markdown."""
from .html import html_page, json_markdown, write_html
from .markdown import evaluation_markdown
from .plots import labelled_grid, plot_accuracy_curves, plot_adversarial_grid

__all__ = ["html_page", "json_markdown", "write_html", "evaluation_markdown", "labelled_grid", "plot_accuracy_curves", "plot_adversarial_grid"]
