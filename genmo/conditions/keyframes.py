"""3D keyframes: one SMPL pose at a time on the output timeline, from a motion npz or the pose library.

A keyframe source is a motion file (keys ``poses`` (N, 72), ``trans`` (N, 3), optional ``betas``;
``frame`` picks the pose) or ``library:<name>`` / a bare library name (see pose_library.POSE_NAMES).
Library poses carry no translation (trans None) and are stood on the ground. A keyframe fixes
KEYFRAME_FIELDS of the motion vector (root tilt, root height, body pose; not the heading or the
planar position) through the sampler's in-painting (docs/model.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from genmo.conditions.npzfile import open_npz
from genmo.conditions.pose_library import is_library_pose, library_pose
from genmo.constants import frame_at
from genmo.errors import ConditionError, one_line
from genmo.spec import LIBRARY_PREFIX

if TYPE_CHECKING:
    from genmo.body.model import BodyModel
    from genmo.conditions.builder import ConditionBuilder
    from genmo.conditions.encoders import EncodeContext
    from genmo.spec import KeyframeTrack

KEYFRAME_FIELDS = ("root_tilt", "root_height", "body_pose")
FLOOR_TOLERANCE = 0.05  # m: a keyframe's feet may sit this far under the floor before it is lifted onto it


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
        raise ConditionError(f"{name}: cannot read '{key}' ({one_line(exc)})") from None
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


def keyframe_constraint(pose: np.ndarray, trans: np.ndarray | None, body: BodyModel) -> tuple[np.ndarray, np.ndarray]:
    """Representation values (D,) and the dims they fix (D,) for one pose (72,) and optional translation
    on ``body``'s rest skeleton. Without a translation the pose stands on the ground; so does one whose
    translation would put a foot more than FLOOR_TOLERANCE under the floor (e.g. a single pose saved
    with zero translation, which leaves SMPL's rest pelvis at y = -0.35 m)."""
    import torch

    from genmo.body.kinematics import forward_kinematics
    from genmo.body.rotations import axis_angle_to_matrix
    from genmo.body.skeleton import FOOT_JOINTS
    from genmo.motion.representation import encode, field_mask

    local = axis_angle_to_matrix(torch.as_tensor(pose, dtype=torch.float32).reshape(1, 24, 3))
    rest = body.rest_joints()
    root = rest[0] + (torch.as_tensor(trans, dtype=torch.float32) if trans is not None else torch.zeros(3))
    _, joints = forward_kinematics(local, rest, root[None])
    lowest = float(joints[0, list(FOOT_JOINTS), 1].min())
    if trans is None or lowest < -FLOOR_TOLERANCE:  # stand it on the ground
        lift = -lowest
        root = root + torch.tensor([0.0, float(lift), 0.0])
        joints = joints + torch.tensor([0.0, float(lift), 0.0])
    x = encode(local, root[None], torch.zeros(10), joints)
    return x[0].numpy(), field_mask(KEYFRAME_FIELDS).numpy()


def encode_tracks(tracks: list[KeyframeTrack], builder: ConditionBuilder, context: EncodeContext) -> None:
    """Keyframes: each pose's constraint at its frame (a keyframe at the very end falls on the last frame)."""
    for track in tracks:
        key = load_keyframe(track.path, track.time, track.frame)
        values, dims = keyframe_constraint(key.pose, key.trans, context.body)
        builder.add_keyframe(values, dims, min(frame_at(track.time), builder.num_frames - 1))
