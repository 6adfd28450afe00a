"""Experiments that combine the library's parts into a paper's table."""
from .robust_features import DATASETS, markdown_table, run_experiment
from .scales import SCALES, Scale, resolve

__all__ = ["DATASETS", "SCALES", "Scale", "markdown_table", "resolve", "run_experiment"]
