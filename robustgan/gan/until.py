"""The interruptible training loop both GAN trainers run: step to the target, checkpoint on Ctrl-C."""
from __future__ import annotations

from typing import Any

from ..interrupt import RunInterrupted, deferred_interrupt


def train_to(trainer: Any, steps: int, bar: Any, *, resume_hint: str, enabled: bool = True) -> None:
    """Call ``trainer.train_step()`` until ``trainer.step`` reaches ``steps``. A first Ctrl-C ends the
    run at the end of the current step with ``trainer.save()`` done, so ``resume_hint`` continues it
    (``enabled=False`` under torchrun, where every rank must take the same number of steps)."""
    with deferred_interrupt(enabled=enabled) as stop:
        while trainer.step < steps:
            trainer.train_step()
            if stop.requested:
                bar.close()
                trainer.save()
                where = f"; checkpoint saved at {trainer.ckpt_path}: continue with {resume_hint}" if trainer.ckpt_path else ""
                raise RunInterrupted(f"interrupted after step {trainer.step} of {steps}{where}")
    bar.close()
