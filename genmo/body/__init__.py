"""Body models rigged to SMPL-24: real SMPL when its files are present, else the open default body."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from genmo.body.default_body import DefaultBody
from genmo.body.model import BodyModel, BodyOutput
from genmo.body.smpl_body import SmplBody, smpl_file_name
from genmo.errors import UserInputError

logger = logging.getLogger("genmo.body")
KINDS = ("auto", "smpl", "default")


def smpl_dir() -> Path:
    """Folder where users place converted SMPL files: <checkpoints>/body_models/smpl/."""
    from genmo.paths import checkpoints_dir

    return checkpoints_dir() / "body_models" / "smpl"


def load_body(kind: str = "auto", gender: str = "neutral", folder: str | Path | None = None) -> BodyModel:
    """The body model, loaded once per process.

    kind: "smpl" (error if its file is missing or broken), "default" (the open mannequin), or
    "auto": SMPL when ``folder/SMPL_<GENDER>.npz`` loads, else one warning line and the default body.
    folder defaults to checkpoints/body_models/smpl.
    """
    if kind not in KINDS:
        raise UserInputError(f"body kind must be one of {', '.join(KINDS)}, got {kind!r}")
    name = smpl_file_name(gender)
    folder = Path(folder) if folder is not None else smpl_dir()
    return _load_cached(kind, gender, (folder / name).resolve())


@functools.lru_cache(maxsize=8)
def _load_cached(kind: str, gender: str, smpl_path: Path) -> BodyModel:
    if kind == "default":
        return DefaultBody()
    if kind == "smpl":
        return SmplBody(smpl_path, gender)
    try:
        return SmplBody(smpl_path, gender)
    except ValueError as exc:
        if smpl_path.exists():
            problem = f"SMPL model file unusable ({str(exc).replace(f'{smpl_path}: ', '')})"
        else:
            problem = "SMPL model file not found"
        logger.warning(
            "%s: expected %s (see checkpoints/body_models/smpl/README.md); using the open default body",
            problem, smpl_path,
        )
        return DefaultBody()


__all__ = ["BodyModel", "BodyOutput", "DefaultBody", "SmplBody", "load_body", "smpl_dir"]
