"""Opening a user's npz file safely (no pickles), with one-line errors naming the file and key."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from genmo.errors import ConditionError


def open_npz(path: Path, what: str, required: tuple[str, ...]) -> np.lib.npyio.NpzFile:
    """Open ``path`` (a ``what`` file) and check it holds the ``required`` keys; use it as a context manager."""
    if not path.is_file():
        raise ConditionError(f"{what} file not found: {path}")
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ConditionError(f"{path.name}: not a readable npz file ({exc})") from None
    for key in required:
        if key not in data.files:
            found = ", ".join(data.files) or "nothing"
            data.close()
            raise ConditionError(f"{path.name}: missing '{key}' (found: {found})")
    return data
