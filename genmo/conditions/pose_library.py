"""A small built-in library of SMPL-24 poses (axis-angle, root first) for keyframes.

Conventions: the rest pose is the T-pose, facing +Z with Y up; the left arm points +X.
Rotating the left shoulder about -Z lowers the left arm; the hips flex forward about -X.
Root orientation is identity (facing +Z); translation is left to the keyframe.
"""

from __future__ import annotations

import numpy as np

from genmo.errors import ConditionError

_HALF_PI = np.pi / 2

# joint index -> axis-angle (radians), everything else zero.
_POSES: dict[str, dict[int, tuple[float, float, float]]] = {
    "t_pose": {},
    "a_pose": {16: (0, 0, -np.pi / 4), 17: (0, 0, np.pi / 4)},
    "standing": {16: (0, 0, -1.35), 17: (0, 0, 1.35), 18: (0, -0.1, 0), 19: (0, 0.1, 0)},
    "arms_up": {16: (0, 0, 1.35), 17: (0, 0, -1.35)},
    "arms_forward": {16: (0, -_HALF_PI, 0), 17: (0, _HALF_PI, 0)},
    "sitting": {
        1: (-_HALF_PI, 0, 0), 2: (-_HALF_PI, 0, 0), 4: (_HALF_PI, 0, 0), 5: (_HALF_PI, 0, 0),
        16: (0, 0, -1.3), 17: (0, 0, 1.3), 18: (0, -1.2, 0), 19: (0, 1.2, 0),
    },
    "squat": {
        1: (-1.9, 0, -0.15), 2: (-1.9, 0, 0.15), 4: (2.1, 0, 0), 5: (2.1, 0, 0), 7: (-0.25, 0, 0), 8: (-0.25, 0, 0),
        3: (0.3, 0, 0), 16: (0, -_HALF_PI, 0), 17: (0, _HALF_PI, 0),
    },
    "hands_on_hips": {16: (0, 0, -1.0), 17: (0, 0, 1.0), 18: (0, 0, -1.2), 19: (0, 0, 1.2)},
    "lunge": {
        1: (-1.3, 0, 0), 4: (1.3, 0, 0), 2: (0.45, 0, 0), 5: (0.35, 0, 0), 8: (-0.3, 0, 0),
        16: (0, 0, -1.3), 17: (0, 0, 1.3),
    },
}

POSE_NAMES: tuple[str, ...] = tuple(_POSES)


def _canonical(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def library_pose(name: str) -> np.ndarray:
    """The (72,) float32 axis-angle pose called ``name`` (e.g. 't_pose', 'T-pose', 'sitting')."""
    key = _canonical(name)
    if key not in _POSES:
        raise ConditionError(f"unknown library pose {name!r}; expected one of {', '.join(POSE_NAMES)}")
    pose = np.zeros((24, 3), np.float32)
    for joint, aa in _POSES[key].items():
        pose[joint] = aa
    return pose.reshape(72)


def is_library_pose(name: str) -> bool:
    """Whether ``name`` names a built-in pose."""
    return _canonical(name) in _POSES
