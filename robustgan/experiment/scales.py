"""How big a run of the robust-features experiment is: presets and per-knob overrides."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Dict, Optional


@dataclass(frozen=True)
class Scale:
    train_images: int  # training images for the standard and the robust (PGD-AT) model
    std_epochs: int
    at_epochs: int
    at_steps: int  # inner PGD steps of adversarial training (step 2.5ε/steps)
    craft_count: int  # training images turned into each crafted dataset (the first N)
    invert_steps: int  # feature-inversion steps for D_R and D_NR
    targeted_steps: int  # targeted L2 PGD steps for D_rand and D_det
    fresh_epochs: int  # epochs of the fresh models trained on each dataset
    eval_images: int  # test images for standard and robust accuracy
    eval_steps: int  # PGD steps of the robust-accuracy attack
    shard_size: int = 500


SCALES: Dict[str, Scale] = {
    # seconds on a laptop core: checks that every stage runs, numbers mean little
    "tiny": Scale(train_images=512, std_epochs=1, at_epochs=1, at_steps=2, craft_count=48, invert_steps=8,
                  targeted_steps=8, fresh_epochs=2, eval_images=200, eval_steps=5, shard_size=24),
    # tens of CPU minutes: the qualitative picture of the paper's table
    "small": Scale(train_images=10_000, std_epochs=4, at_epochs=4, at_steps=7, craft_count=2_000, invert_steps=200,
                   targeted_steps=100, fresh_epochs=15, eval_images=1_000, eval_steps=20),
    # the full training set (GPU hours): Ilyas et al.'s protocol at Fashion-MNIST size
    "paper": Scale(train_images=60_000, std_epochs=10, at_epochs=10, at_steps=40, craft_count=60_000,
                   invert_steps=1_000, targeted_steps=100, fresh_epochs=30, eval_images=10_000, eval_steps=20,
                   shard_size=2_000),
}


def resolve(name: str, overrides: Optional[Dict[str, Any]] = None) -> Scale:
    """The preset ``name`` with every non-None override applied; all values must be positive."""
    if name not in SCALES:
        raise ValueError(f"unknown scale {name!r}; choose one of {list(SCALES)}")
    valid = {f.name for f in fields(Scale)}
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = set(given) - valid
    if unknown:
        raise ValueError(f"unknown scale knob(s) {sorted(unknown)}; valid: {sorted(valid)}")
    scale = replace(SCALES[name], **given)
    for f in fields(Scale):
        v = getattr(scale, f.name)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{f.name} must be an integer >= 1, got {v!r}")
    return scale
