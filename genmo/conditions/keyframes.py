"""3D keyframes: one SMPL pose at a time on the output timeline, from a motion npz or the pose library.

A keyframe source is a motion file (keys ``poses`` (N, 72), ``trans`` (N, 3), optional ``betas``;
``frame`` picks the pose) or ``library:<name>`` / a bare library name (see pose_library.POSE_NAMES).
Library poses carry no translation (trans None): the pipeline constrains the pose only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genmo.errors import ConditionError
from genmo.conditions.npzfile import open_npz
from genmo.conditions.pose_library import is_library_pose, library_pose

LIBRARY_PREFIX = "library:"


@dataclass
class Keyframe:
    """pose (72,) axis-angle root first; trans (3,) metres world Y-up or None; time in seconds; betas (10,) or None."""

    pose: np.ndarray
    trans: np.ndarray | None
    time: float
    betas: np.ndarray | None = None


def _read(data: np.lib.npyio.NpzFile, key: str, name: str) -> np.ndarray:
    try:
        arr = np.asarray(data[key])
    except (OSError, ValueError) as exc:
        raise ConditionError(f"{name}: cannot read '{key}' ({str(exc).splitlines()[0]})") from None
    if arr.dtype.kind not in "fiu" or not np.isfinite(arr).all():
        raise ConditionError(f"{name}: '{key}' must hold finite numbers")
    return arr.astype(np.float32)


def keyframe_from_motion(path: str | Path, frame: int = 0, time: float = 0.0) -> Keyframe:
    """The pose at ``frame`` of a motion npz."""
    path = Path(path)
    name = path.name
    with open_npz(path, "keyframe", ("poses", "trans")) as data:
        poses = _read(data, "poses", name)
        trans = _read(data, "trans", name)
        betas = _read(data, "betas", name).reshape(-1) if "betas" in data.files else None
    if poses.ndim != 2 or poses.shape[1] != 72 or len(poses) == 0:
        raise ConditionError(f"{name}: 'poses' must have shape (N, 72), got {poses.shape}")
    if trans.shape != (len(poses), 3):
        raise ConditionError(f"{name}: 'trans' must have shape ({len(poses)}, 3), got {trans.shape}")
    if betas is not None and betas.shape != (10,):
        raise ConditionError(f"{name}: 'betas' must have shape (10,), got {betas.shape}")
    if not isinstance(frame, (int, np.integer)) or not 0 <= frame < len(poses):
        raise ConditionError(f"{name}: frame {frame} is out of range; the file has {len(poses)} frames")
    return Keyframe(pose=poses[frame].copy(), trans=trans[frame].copy(), time=float(time), betas=betas)


def keyframe_from_library(name: str, time: float = 0.0) -> Keyframe:
    """A built-in pose at ``time`` (no translation)."""
    return Keyframe(pose=library_pose(name), trans=None, time=float(time))


def load_keyframe(source: str | Path, time: float, frame: int = 0) -> Keyframe:
    """A keyframe from ``library:<name>``, a bare library name, or a motion npz path."""
    if time < 0:
        raise ConditionError(f"keyframe time must be >= 0, got {time}")
    text = str(source)
    if text.startswith(LIBRARY_PREFIX):
        return keyframe_from_library(text[len(LIBRARY_PREFIX):], time)
    if not Path(text).exists() and is_library_pose(text):
        return keyframe_from_library(text, time)
    return keyframe_from_motion(source, frame, time)
