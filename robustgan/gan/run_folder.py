"""The run folder of a training command: rank 0 locks OUT and claims the trainer's files in it."""
from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from ..distributed import DistContext
from ..runs import LOCK_NAME, claim, run_lock


def hold_run_folder(held: ExitStack, ctx: DistContext, out: Path, checkpoint: str, *, resume: bool,
                    force: bool) -> None:
    """On rank 0 alone: lock ``out`` for as long as ``held`` lasts and claim the checkpoint, history and
    samples (another run's files are refused unless ``resume`` or ``force``), so two trainings never
    write one folder."""

    def hold() -> None:
        held.enter_context(run_lock(out / LOCK_NAME))
        claim(out, [out / checkpoint, out / "history.json", out / "samples"], resume=resume, force=force)

    ctx.main_only(hold)
