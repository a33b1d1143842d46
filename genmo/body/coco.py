"""COCO-17 keypoints of an SMPL-24 skeleton: the body points are SMPL joints, the face points
(nose, eyes, ears) sit at fixed offsets in the head's frame. Shared by the synthetic 2D
observations of training (genmo.data.projection) and the overlay's camera fit (genmo.motion)."""

from __future__ import annotations

import numpy as np

# COCO-17 body points from SMPL joints (nose/eyes/ears come from the head frame below).
COCO_NAMES = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
              "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
              "left_knee", "right_knee", "left_ankle", "right_ankle")
COCO_FROM_SMPL = {5: 16, 6: 17, 7: 18, 8: 19, 9: 20, 10: 21, 11: 1, 12: 2, 13: 4, 14: 5, 15: 7, 16: 8}
# Face points in the head frame (metres from the SMPL head joint; x left, y up, z forward).
_FACE_OFFSETS = np.array([
    [0.0, 0.0, 0.10],     # nose
    [0.033, 0.035, 0.085],  # left eye
    [-0.033, 0.035, 0.085],  # right eye
    [0.075, 0.0, 0.0],    # left ear
    [-0.075, 0.0, 0.0],   # right ear
])
_FACE_INDEX = (0, 1, 2, 3, 4)


def coco17_from_smpl(joints: np.ndarray, head_rots: np.ndarray | None = None) -> np.ndarray:
    """COCO-17 3D points (..., 17, 3) from SMPL-24 joints (..., 24, 3).

    head_rots (..., 3, 3): global rotation of the SMPL head joint; if None a head frame is
    built from the neck->head direction and the shoulder line.
    """
    joints = np.asarray(joints, dtype=np.float64)
    out = np.zeros((*joints.shape[:-2], 17, 3))
    for c, s in COCO_FROM_SMPL.items():
        out[..., c, :] = joints[..., s, :]
    if head_rots is None:
        up = joints[..., 15, :] - joints[..., 12, :]
        up /= np.linalg.norm(up, axis=-1, keepdims=True).clip(1e-9)
        left = joints[..., 16, :] - joints[..., 17, :]
        left = left - (left * up).sum(-1, keepdims=True) * up
        left /= np.linalg.norm(left, axis=-1, keepdims=True).clip(1e-9)
        fwd = np.cross(left, up)
        head_rots = np.stack((left, up, fwd), axis=-1)
    face = np.einsum("...ab,kb->...ka", head_rots, _FACE_OFFSETS) + joints[..., 15:16, :]
    out[..., list(_FACE_INDEX), :] = face
    return out
