"""A retargeted SMPL-24 clip and the steps that finish one: proportions, resampling to 30 fps,
ground contact and a canonical start (facing +Z, pelvis above the origin)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from genmo.body.kinematics import forward_kinematics
from genmo.body.skeleton import FOOT_JOINTS
from genmo.data.retarget import L_ANKLE, L_HIP, L_KNEE, RetargetResult
from genmo.motion.resample import slerp_resample

TARGET_FPS = 30.0


@dataclass
class Clip:
    """SMPL-24 motion: local_rots (N, 24, 3, 3) float32, trans (N, 3) SMPL translation (posed
    pelvis = rest_joints[0] + trans), fps, and free-form metadata (labels, music, ...)."""

    local_rots: np.ndarray
    trans: np.ndarray
    fps: float
    meta: dict = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.local_rots.shape[0])

    def axis_angle(self) -> np.ndarray:
        """Local rotations as axis-angle (N, 24, 3) float32."""
        from scipy.spatial.transform import Rotation

        n = self.num_frames
        return Rotation.from_matrix(self.local_rots.reshape(-1, 3, 3)).as_rotvec().reshape(n, 24, 3).astype(np.float32)


def default_rest_joints() -> np.ndarray:
    """T-pose joints (24, 3) of the project's default body (zero betas)."""
    try:
        from genmo.body import load_body  # type: ignore[attr-defined]

        body = load_body()
    except ImportError:
        from genmo.body.default_body import DefaultBody

        body = DefaultBody()
    return body.rest_joints().detach().cpu().numpy().astype(np.float64)


def local_rotations(poses: np.ndarray) -> np.ndarray:
    """Local rotation matrices (N, 24, 3, 3) float32 of a corpus clip's axis-angle poses (N, 24, 3)."""
    from scipy.spatial.transform import Rotation

    n = len(poses)
    return Rotation.from_rotvec(poses.reshape(-1, 3)).as_matrix().reshape(n, 24, 3, 3).astype(np.float32)


def joints_of(local_rots: np.ndarray, trans: np.ndarray, rest_joints: np.ndarray) -> np.ndarray:
    """World joints (N, 24, 3) of SMPL local rotations and translation on the given rest skeleton."""
    rest = torch.as_tensor(rest_joints, dtype=torch.float32)
    root = rest[0] + torch.as_tensor(trans, dtype=torch.float32)
    _, joints = forward_kinematics(torch.as_tensor(local_rots, dtype=torch.float32), rest, root)
    return joints.numpy()


def leg_length(pos: np.ndarray) -> float:
    """Hip-knee-ankle length of the left leg, averaged over frames. pos (..., 24, 3)."""
    pos = pos.reshape(-1, 24, 3)
    return float(np.median(np.linalg.norm(pos[:, L_KNEE] - pos[:, L_HIP], axis=-1) + np.linalg.norm(pos[:, L_ANKLE] - pos[:, L_KNEE], axis=-1)))


def finish_clip(
    result: RetargetResult,
    source_positions: np.ndarray,
    src_fps: float,
    rest_joints: np.ndarray,
    meta: dict | None = None,
    canonical_start: bool = True,
    src_times: np.ndarray | None = None,
    track_ground: bool = False,
) -> tuple[Clip, np.ndarray]:
    """Scale the root path to SMPL proportions, resample to 30 fps, put the lowest foot joint of
    the clip on the floor (y = 0; ``track_ground`` follows a slowly varying floor for noisy
    position captures) and, optionally, turn/shift the start to face +Z at the origin.

    Returns the clip and its world joints (N, 24, 3).
    """
    scale = leg_length(rest_joints[None]) / max(leg_length(source_positions), 1e-6)
    pelvis = result.pelvis.astype(np.float64) * scale
    rots, pelvis = slerp_resample(result.local_rots, pelvis, src_fps, TARGET_FPS, src_times)
    rots = rots.astype(np.float32)
    trans = pelvis - rest_joints[0]
    if canonical_start:
        rots, trans = canonicalize(rots, trans, rest_joints)
    joints = joints_of(rots, trans, rest_joints)
    low = joints[:, list(FOOT_JOINTS), 1].min(axis=1)
    if track_ground:  # position-only captures: follow the (noisy) floor contact over time
        from scipy.ndimage import gaussian_filter1d

        floor = gaussian_filter1d(np.minimum(low, np.percentile(low, 50)), TARGET_FPS / 2, mode="nearest")
    else:  # robust to a few outlier frames: the 2nd percentile of the lowest foot joint
        floor = np.full(len(low), np.percentile(low, 2))
    trans = trans.copy()
    trans[:, 1] -= floor
    joints[..., 1] -= floor[:, None]
    return Clip(rots, trans.astype(np.float32), TARGET_FPS, dict(meta or {})), joints


def canonicalize(rots: np.ndarray, trans: np.ndarray, rest_joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotate about Y so frame 0 faces +Z, and shift so frame 0's pelvis is above the origin."""
    root = rots[0, 0]
    fwd = root[:, 2]
    yaw = np.arctan2(fwd[0], fwd[2])
    c, s = np.cos(-yaw), np.sin(-yaw)
    ry = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], dtype=np.float32)
    rots = rots.copy()
    rots[:, 0] = ry @ rots[:, 0]
    pelvis = trans + rest_joints[0]
    pelvis = pelvis @ ry.T.astype(np.float64)
    pelvis[:, [0, 2]] -= pelvis[0, [0, 2]]
    return rots, pelvis - rest_joints[0]
