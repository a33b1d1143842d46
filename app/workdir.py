"""The studio's work folder: one per running studio, locked while it runs, swept after a crash.

``claim_work_dir(parent)`` makes ``parent/genmo-studio-<random>/``, holds an exclusive lock on its
``.lock`` file for the life of the process (the kernel drops it when the process dies, even by
SIGKILL) and first deletes the folders of studios that are no longer running: those whose lock
nobody holds. A studio killed mid-generation therefore leaves nothing behind once the next one starts.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; stale folders are then left for the OS temp clean-up
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("genmo.studio")
PREFIX = "genmo-studio-"
LOCK_NAME = ".lock"
_held: list[IO[bytes]] = []  # open lock files of this process's work folders (closing one would unlock it)


def claim_work_dir(parent: Path) -> Path:
    """A new locked work folder under ``parent``, after removing those of studios that are gone."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    removed = remove_stale_work_dirs(parent)
    if removed:
        log.info("removed %d work folder(s) left by studios that are no longer running", removed)
    folder = Path(tempfile.mkdtemp(prefix=PREFIX, dir=parent))
    lock(folder)
    return folder


def lock(folder: Path) -> None:
    """Hold ``folder``'s lock until this process ends."""
    fh = open(Path(folder) / LOCK_NAME, "wb")  # noqa: SIM115  (kept open on purpose)
    if fcntl is not None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    _held.append(fh)


def remove_stale_work_dirs(parent: Path) -> int:
    """Delete ``genmo-studio-*`` folders under ``parent`` whose lock no running process holds."""
    if fcntl is None or not Path(parent).is_dir():
        return 0
    removed = 0
    for folder in Path(parent).glob(PREFIX + "*"):
        lock_path = folder / LOCK_NAME
        if not folder.is_dir() or not lock_path.is_file():
            continue  # not ours, or a studio between mkdtemp and taking its lock
        try:
            fd = os.open(lock_path, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # a running studio holds it
        finally:
            os.close(fd)
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    return removed
