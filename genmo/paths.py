"""Where things live: the repository, shipped checkpoints and examples, the training data, caches.

Shipped files (checkpoints/, examples/) are found in the source checkout, else where ``pip install``
put them (<prefix>/share/genmo-studio/, see pyproject.toml); $GENMO_CHECKPOINTS overrides the
checkpoints folder.
"""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

SHARE_NAME = "genmo-studio"
CHECKPOINTS_HINT = "set GENMO_CHECKPOINTS to the folder that holds genmo-small/ and body_models/"


def repo_root() -> Path:
    """The repository (or installed package's parent) folder."""
    return Path(__file__).resolve().parent.parent


def installed_share_dirs() -> list[Path]:
    """Where ``pip install`` puts the shipped files: <prefix>/share/genmo-studio (and the --user one)."""
    schemes = [None] + ([f"{os.name}_user"] if f"{os.name}_user" in sysconfig.get_scheme_names() else [])
    return [Path(sysconfig.get_path("data", scheme) if scheme else sysconfig.get_path("data")) / "share" / SHARE_NAME
            for scheme in schemes]


def shipped_dir(name: str) -> Path:
    """The shipped folder ``name`` (checkpoints, examples): the checkout's, else the installed one.

    When neither exists, the checkout's path (its loaders then name it in their error).
    """
    for base in (repo_root(), *installed_share_dirs()):
        if (base / name).is_dir():
            return base / name
    return repo_root() / name


def checkpoints_dir() -> Path:
    """Folder of shipped weights and body models: $GENMO_CHECKPOINTS, else the shipped one."""
    env = os.environ.get("GENMO_CHECKPOINTS")
    return Path(env) if env else shipped_dir("checkpoints")


def missing_checkpoint_file(what: str, path: Path) -> FileNotFoundError:
    """The one-line error for a shipped file that is not there, naming GENMO_CHECKPOINTS."""
    env = os.environ.get("GENMO_CHECKPOINTS")
    where = f"GENMO_CHECKPOINTS={env}" if env else CHECKPOINTS_HINT
    return FileNotFoundError(f"no {what} found at {path} ({where})")


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
