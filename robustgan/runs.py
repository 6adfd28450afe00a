"""What every job that writes results shares: run identity, refuse-or-resume, a run lock, atomic JSON.

A *run identity* is the SHA-256 of the canonical JSON of every setting that changes a run's result.
Jobs record it in what they write and compare it before reusing or resuming anything, so a result
is reused only for exactly the settings that produced it. A destination that already holds
results is continued only with ``resume`` and replaced only with ``force``; two writers never share
one destination (an ``fcntl`` lock, released by the kernel when its holder dies, so a stale lock
of a dead process is simply taken over).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Union

PathLike = Union[str, os.PathLike]
LOCK_NAME = ".robustgan.lock"  # the lock file of a run folder


class RunRefused(ValueError):
    """The destination holds other results, is in use, or was written with other settings."""


def canonical(settings: Mapping[str, Any]) -> Dict[str, Any]:
    """Plain JSON data (dicts, lists, str, numbers, None): tuples become lists, paths strings."""
    return json.loads(json.dumps(dict(settings), sort_keys=True, default=str))


def settings_hash(settings: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the settings' canonical JSON: equal settings, equal hash."""
    text = json.dumps(canonical(settings), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def run_identity(settings: Mapping[str, Any]) -> Dict[str, Any]:
    """``{"hash", "settings"}``: what a run records, loadable with ``torch.load(weights_only=True)``."""
    return {"hash": settings_hash(settings), "settings": canonical(settings)}


def differences(recorded: Mapping[str, Any], settings: Mapping[str, Any]) -> List[str]:
    """``key (recorded → now)`` for every setting that is not the same in both."""
    a, b = canonical(recorded), canonical(settings)
    return [f"{k} ({json.dumps(a.get(k))} → {json.dumps(b.get(k))})"
            for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def check_resume(recorded: Optional[Mapping[str, Any]], settings: Mapping[str, Any], path: PathLike) -> None:
    """Refuse (one line) to continue ``path`` unless its recorded identity is exactly ``settings``."""
    if not recorded or "settings" not in recorded:
        raise RunRefused(f"cannot resume {path}: it records no run identity (written by an older version); "
                         f"start over with --force")
    diff = differences(recorded["settings"], settings)
    if diff:
        raise RunRefused(f"cannot resume {path}: it was written with other settings: {'; '.join(diff)}")


def claim(destination: PathLike, results: Sequence[PathLike], *, resume: bool, force: bool) -> bool:
    """Decide what to do with a destination; True when an existing run is to be continued.

    ``results``: the files or folders that hold the destination's results. None exists: a new run.
    Some exist: continued with ``resume``, deleted with ``force``, else refused (nothing touched).
    """
    if resume and force:
        raise RunRefused("give --resume (continue) or --force (start over), not both")
    present = [Path(p) for p in results if os.path.lexists(p)]
    if not present:
        return False
    if resume:
        return True
    if not force:
        names = ", ".join(p.name for p in present[:3]) + (f" and {len(present) - 3} more" if len(present) > 3 else "")
        raise RunRefused(f"{destination} already holds results ({names}); "
                         f"pass --resume to continue that run or --force to replace it")
    for p in present:
        shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
    return False


def check_writable_file(path: PathLike, name: str = "--out") -> Path:
    """Refuse, before any work, a result file that could not be written at the end: a folder in its
    place (``claim(force=True)`` would delete that folder), a file where a parent folder belongs, or
    a folder that is not writable. ``name``: the argument, for the message."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{name} {path} is a folder; give the file to write, e.g. {path / 'model.pt'}")
    _check_can_create(path.parent, name, path)
    return path


def check_writable_folder(path: PathLike, name: str = "--out") -> Path:
    """Refuse, before any work, a result folder that could not be written at the end: a file in its
    place, a file where a parent folder belongs, or a parent that is not writable."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{name} {path} is a file, not a folder")
    _check_can_create(path, name, path)
    return path


def _check_can_create(folder: Path, name: str, path: Path) -> None:
    """``folder`` exists and takes new files, or its nearest existing ancestor is a folder that does.

    A temporary file is created and removed there: ``os.access`` says yes to root even on a
    read-only mount."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise ValueError(f"{name} {path} cannot be written: {folder} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".robustgan-probe-")
    except OSError as exc:
        raise ValueError(f"{name} {path} cannot be written: the folder {folder} is not writable "
                         f"({exc.strerror or type(exc).__name__})") from None
    os.close(fd)
    os.remove(probe)


def keyed_destination(candidates: Sequence[PathLike], identity: str,
                      recorded: Callable[[Path], Optional[str]]) -> Path:
    """Where a stage of hash ``identity`` lives: the candidate that records it, else the first free one.

    ``recorded(path)`` is the identity a candidate holds, ``None`` when it holds nothing (anything
    else, e.g. ``""`` for a result of unknown identity, marks it taken). Typical candidates: a
    readable name, then the same name keyed by the hash; a result is never taken for another's.
    """
    paths = [Path(c) for c in candidates]
    held = [recorded(p) for p in paths]
    for path, h in zip(paths, held):
        if h == identity:
            return path
    for path, h in zip(paths, held):
        if h is None:
            return path
    raise RunRefused(f"{paths[-1]} holds another result under the same name; move it away to recompute it")


@contextmanager
def run_lock(lock: PathLike) -> Iterator[Path]:
    """Hold ``lock`` (a lock file, e.g. ``FOLDER/.robustgan.lock``) for one writer; a second is refused.

    The file names the holder's pid. The kernel drops an ``flock`` when its process dies, so a lock
    file left by a killed run is taken over at once; the file is removed on release.
    """
    lock = Path(lock)
    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RunRefused(f"another run (pid {holder}) is writing there: {lock} is held; "
                             f"wait for it to finish") from None
        try:  # the previous holder may have removed the file between our open and our flock
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    try:
        yield lock
    finally:
        try:
            os.unlink(lock)
        finally:
            os.close(fd)


def usual_mode() -> int:
    """The permissions ``open()`` gives a new file under the current umask (mkstemp gives 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_json(obj: Any, path: PathLike) -> None:
    """Write JSON to a temporary file in the same folder, then rename: never half a file."""
    atomic_write_text(json.dumps(obj, indent=2), path)


def atomic_write_text(text: str, path: PathLike) -> None:
    """Write text atomically (temporary file, fsync, rename) with the permissions of a plain ``open()``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, usual_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def file_sha256(path: PathLike) -> str:
    """SHA-256 (hex) of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
