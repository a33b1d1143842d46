"""The SMPL 24-joint kinematic tree shared by every body model and data source."""

from __future__ import annotations

JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee",
    "spine2", "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot",
    "neck", "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hand", "right_hand",
)

PARENTS: tuple[int, ...] = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21,
)

NUM_JOINTS = len(JOINT_NAMES)

# Joints whose contact with the world is labelled: heels (ankles) and toes (feet) of both
# feet, then both hands (wrists). Same order as the contact channels of the motion vector.
CONTACT_JOINTS: tuple[int, ...] = (7, 10, 8, 11, 20, 21)
FOOT_JOINTS: tuple[int, ...] = (7, 10, 8, 11)

# Left/right pairs, for mirroring data.
MIRROR_PAIRS: tuple[tuple[int, int], ...] = (
    (1, 2), (4, 5), (7, 8), (10, 11), (13, 14), (16, 17), (18, 19), (20, 21), (22, 23),
)


def joint_index(name: str) -> int:
    """Index of an SMPL joint by name."""
    try:
        return JOINT_NAMES.index(name)
    except ValueError:
        raise ValueError(f"unknown SMPL joint {name!r}; expected one of {', '.join(JOINT_NAMES)}") from None


def children(joint: int) -> list[int]:
    """Direct children of a joint."""
    return [j for j, p in enumerate(PARENTS) if p == joint]


def mirror_permutation() -> list[int]:
    """Joint permutation that swaps left and right."""
    perm = list(range(NUM_JOINTS))
    for a, b in MIRROR_PAIRS:
        perm[a], perm[b] = b, a
    return perm
