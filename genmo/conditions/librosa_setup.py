"""librosa, imported safely: numba's compiled-code cache in a per-user folder, written under a lock.

librosa's jitted functions cache their machine code on disk (numba ``cache=True``). That cache is
not safe for two processes compiling one function at once: both can pick the same data file for
different signatures, one overwrites the other's code, and a later load runs machine code built
for other argument types (a segmentation fault inside a numba gufunc). It used to live in
librosa's folder in site-packages, shared by every process of the environment.

``load_librosa()`` therefore

- points ``NUMBA_CACHE_DIR`` at ``genmo.paths.numba_cache_dir()`` (per user, keyed by the numba
  and Python versions) before numba is imported, unless the user set it;
- imports librosa and runs every librosa call the music features make once, on a short synthetic
  signal, while holding an exclusive lock on that folder: compiling and cache writing happen in
  one process at a time, and afterwards this process only runs what it has in memory.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

try:
    import fcntl
except ImportError:  # Windows: no advisory file locks (the in-process lock still applies)
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".genmo-warmup.lock"
_ready = False
_thread_lock = threading.Lock()


def load_librosa(warm_up: Callable[[ModuleType], None] | None = None) -> ModuleType:
    """The librosa module, its numba cache in the per-user folder and ``warm_up(librosa)`` run once
    per process under the cache folder's lock (the first call waits while another process warms up)."""
    global _ready
    if _ready:
        import librosa

        return librosa
    with _thread_lock:
        if not _ready:
            folder = _configure_cache()
            with _FolderLock(folder):
                import librosa

                if warm_up is not None:
                    warm_up(librosa)
            _ready = True
    import librosa

    return librosa


def _configure_cache() -> Path:
    """Set the numba cache folder (environment, and numba's config if numba is already imported)."""
    from genmo.paths import numba_cache_dir

    folder = numba_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("NUMBA_CACHE_DIR", str(folder))
    if "numba" in sys.modules and "librosa" not in sys.modules:
        sys.modules["numba"].config.CACHE_DIR = str(folder)
    return folder


class _FolderLock:
    """An exclusive advisory lock on ``folder/LOCK_NAME`` (blocking), released on exit or process death."""

    def __init__(self, folder: Path) -> None:
        self.path = os.path.join(folder, LOCK_NAME)
        self.fd: int | None = None

    def __enter__(self) -> None:
        if fcntl is not None:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
