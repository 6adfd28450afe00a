"""The run folder of ``invert`` and ``attribute``: work units, refuse-or-resume, a share per process.

The images to invert are cut into work units — fixed slices: ``chunk`` images each when given, else
up to eight near-equal ones of at least 25 images (:func:`robustgan.units.split`) — and the unit of
images [a, b) is inverted with seed ``seed + a``, the rule :func:`~.invert.invert` itself uses for its
chunks. A unit's result so depends on nothing but its images and the settings: a run spread over the
processes of a ``torchrun`` launch, or one resumed after a kill, gives the numbers of one
uninterrupted process (and, with ``chunk``, exactly those of ``invert_any(..., chunk=chunk)``).

Rank 0 alone holds the folder — its lock, the refuse / resume / force decision, the run's identity
in ``state/identity.json`` — saves each finished unit under ``state/`` and writes the results.
"""
from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from torch import Tensor, nn

from ...distributed import DistContext
from ...runs import LOCK_NAME, RunRefused, atomic_write_json, check_resume, claim, run_identity, run_lock
from ...units import UnitStore, Units, split
from ...validation import check_images
from .invert import as_generator_list
from .mixed import Inversion, invert_any
from .parts import merge, pack

STATE = "state"  # the run folder's sub-folder of finished units and the run's identity


def unit_cuts(m: int, chunk: Optional[int] = None) -> List[slice]:
    """The work units of ``m`` images: ``chunk`` images each (the last may hold fewer), else
    :func:`~robustgan.units.split` of them — never dependent on the number of processes."""
    if chunk is None:
        return split(m, max(m, 1))
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    return [slice(a, min(a + chunk, m)) for a in range(0, m, chunk)]


class InversionRun:
    """One run of ``invert`` or ``attribute`` in its folder ``out``, on every process of the launch.

    ``results`` names what the run writes in ``out`` (files and the ``state`` folder): any of them
    present means a run is there, continued only with ``resume`` (and only for the same
    ``settings``), replaced only with ``force``. Use as a context manager: rank 0 holds the folder's
    lock until the block ends.
    """

    def __init__(self, out: Path, results: Sequence[str], settings: Dict[str, Any], ctx: DistContext, *,
                 resume: bool = False, force: bool = False, progress: bool = True):
        self.out, self.results, self.settings, self.ctx = Path(out), list(results), settings, ctx
        self.resume, self.force, self.progress = resume, force, progress
        self.log = (lambda s: print(s, flush=True)) if (progress and ctx.is_main) else (lambda s: None)
        self._stack = ExitStack()

    def __enter__(self) -> "InversionRun":
        try:
            self.ctx.main_only(self._claim)
        except BaseException:
            self._stack.close()
            raise
        store = UnitStore(self.out / STATE if self.ctx.is_main else None)
        self.units = Units(store, self.ctx, self.progress, self.log)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stack.close()

    def _claim(self) -> None:
        """Rank 0: lock the folder, refuse / resume / replace what it holds, record this run's identity."""
        if self.out.exists() and not self.out.is_dir():
            raise RunRefused(f"--out {self.out} is a file, not a folder")
        self._stack.enter_context(run_lock(self.out / LOCK_NAME))
        resumed = claim(self.out, [self.out / r for r in self.results], resume=self.resume, force=self.force)
        identity_file = self.out / STATE / "identity.json"
        if resumed:
            recorded = json.loads(identity_file.read_text()) if identity_file.exists() else None
            check_resume(recorded, self.settings, self.out)
            self.log(f"resuming the run in {self.out}")
        atomic_write_json(run_identity(self.settings), identity_file)

    def invert(self, phase: str, generators: Sequence[nn.Module], images: Tensor, *, seed: int = 0,
               chunk: Optional[int] = None, progress: bool = False, **kwargs: Any) -> Inversion:
        """:func:`~.mixed.invert_any` of ``images`` (same arguments: latent and image-conditioned
        generators alike), unit by unit: finished units of an earlier run are loaded, the rest shared
        over the processes; every rank gets the whole result (on the CPU)."""
        gens = as_generator_list(generators)
        check_images(images)
        cuts = unit_cuts(images.shape[0], chunk)
        images = images.cpu()

        def unit(i: int) -> Dict[str, Any]:
            c = cuts[i]
            return pack(invert_any(gens, images[c], seed=seed + c.start, progress=progress and self.ctx.is_main,
                                   **kwargs))

        return merge(self.units.map(phase, len(cuts), unit, f"{phase} ({images.shape[0]} images)"))
