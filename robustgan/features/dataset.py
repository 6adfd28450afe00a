"""A crafted dataset's shards as a ``torch.utils.data.Dataset`` of (image, label)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Tuple

import torch
from torch import Tensor
from torch.utils.data import Dataset

from .shards import load_shard, read_manifest


class CraftedDataset(Dataset):
    """All shards of a finished crafting run, held in memory (Fashion-MNIST sized datasets fit easily).

    ``partial=True`` also opens an unfinished run (its finished shards only).
    """

    def __init__(self, directory, partial: bool = False):
        self.directory = Path(directory)
        self.manifest: Dict[str, Any] = read_manifest(self.directory)
        if not self.manifest.get("complete") and not partial:
            raise ValueError(f"{directory}: crafting is not finished ({len(self.manifest['shards'])} shard(s) done); "
                             f"rerun the same craft command to finish it, or pass partial=True")
        parts = [load_shard(self.directory, s) for s in self.manifest["shards"]]
        if not parts:
            raise ValueError(f"{directory}: no finished shard")
        self.x: Tensor = torch.cat([p["x"] for p in parts])
        self.y: Tensor = torch.cat([p["y"] for p in parts]).long()
        self.extras: Dict[str, Tensor] = {k: torch.cat([p[k] for p in parts]) for k in parts[0] if k not in ("x", "y")}

    def __len__(self) -> int:
        return self.y.shape[0]

    def __getitem__(self, i) -> Tuple[Tensor, Tensor]:
        return self.x[i], self.y[i]

    @property
    def kind(self) -> str:
        return self.manifest["kind"]
