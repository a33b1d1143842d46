"""Where things live: the repository, shipped checkpoints, the training data, caches."""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """The repository (or installed package's parent) folder."""
    return Path(__file__).resolve().parent.parent


def checkpoints_dir() -> Path:
    """Folder of shipped weights and body models."""
    return Path(os.environ.get("GENMO_CHECKPOINTS", repo_root() / "checkpoints"))


def default_checkpoint() -> Path:
    """The checkpoint the studio and the CLI use unless told otherwise."""
    return checkpoints_dir() / "genmo-small"


def data_root() -> Path | None:
    """The training data folder: $GENMO_DATA, else ../shared/data beside the repo, else None."""
    env = os.environ.get("GENMO_DATA")
    if env:
        return Path(env)
    shared = repo_root().parent / "shared" / "data"
    return shared if shared.is_dir() else None


def cache_dir() -> Path:
    """A writable cache folder ($GENMO_CACHE, default ~/.cache/genmo)."""
    path = Path(os.environ.get("GENMO_CACHE", Path.home() / ".cache" / "genmo"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def numba_cache_dir() -> Path:
    """Where numba caches compiled code for this project: $NUMBA_CACHE_DIR when the user set it, else
    a per-user folder under cache_dir() keyed by the numba and Python versions (not site-packages)."""
    env = os.environ.get("NUMBA_CACHE_DIR")
    if env:
        return Path(env)
    import sys
    from importlib.metadata import PackageNotFoundError, version

    try:
        numba_version = version("numba")
    except PackageNotFoundError:
        numba_version = "none"
    return cache_dir() / "numba" / f"numba-{numba_version}-py{sys.version_info[0]}{sys.version_info[1]}"
