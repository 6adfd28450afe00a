"""The classifier that ships with the package, so ``robustgan evaluate`` runs offline with no flags."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

DEFAULT_CHECKPOINT = "fashion-mnist-small-cnn.pt"
DEFAULT_ARCH = "small-cnn"
# the exact command that produced the shipped file (see README, "The default model")
DEFAULT_COMMAND = ("robustgan train --epochs 4 --seed 0 --out runs/default && "
                   "cp runs/default/model.pt robustgan/assets/fashion-mnist-small-cnn.pt")


def default_checkpoint_path() -> Path:
    return Path(str(resources.files("robustgan.assets").joinpath(DEFAULT_CHECKPOINT)))
