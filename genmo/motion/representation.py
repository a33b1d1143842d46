"""The per-frame GENMO motion vector (paper Eq. 1, adapted) and its exact inverse.

Layout of one frame (174 values):

    root_tilt     6  root orientation with its heading (yaw about +Y) removed, 6D
    yaw_vel       1  heading change to the next frame (rad/frame)
    root_vel      3  root displacement to the next frame in the body's heading frame (m/frame)
    root_height   1  root (pelvis) height above the ground (m)
    body_pose   138  joints 1..23 rotations relative to their parents, 6D each
    betas        10  body shape
    incam_orient  6  root orientation in camera space (gravity-view + camera give the world)
    incam_transl  3  root position in camera space (m, OpenCV axes)
    contacts      6  heels, toes, hands in contact with the ground (0/1)

Heading and planar position integrate back from yaw_vel and root_vel, so the decoded world
starts at the origin facing +Z unless an initial heading/position is given. The camera
(world-to-camera extrinsics) is recovered from the world and camera-space root poses.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from genmo.body.kinematics import forward_kinematics
from genmo.body.rotations import (
    heading_angle,
    matrix_to_rot6d,
    rot6d_to_matrix,
    rotation_about_y,
)
from genmo.body.skeleton import NUM_JOINTS
from genmo.constants import MODEL_FPS
from genmo.motion.contacts import contact_labels

_SIZES = (
    ("root_tilt", 6),
    ("yaw_vel", 1),
    ("root_vel", 3),
    ("root_height", 1),
    ("body_pose", (NUM_JOINTS - 1) * 6),
    ("betas", 10),
    ("incam_orient", 6),
    ("incam_transl", 3),
    ("contacts", 6),
)


def _layout() -> dict[str, slice]:
    out, start = {}, 0
    for name, size in _SIZES:
        out[name] = slice(start, start + size)
        start += size
    return out


LAYOUT: dict[str, slice] = _layout()
MOTION_DIM: int = sum(size for _, size in _SIZES)
CAMERA_FIELDS: tuple[str, ...] = ("incam_orient", "incam_transl")
WORLD_FIELDS: tuple[str, ...] = ("root_tilt", "yaw_vel", "root_vel", "root_height", "body_pose", "betas", "contacts")


def field_mask(names: tuple[str, ...] | list[str]) -> Tensor:
    """Boolean (MOTION_DIM,) mask selecting the named fields."""
    mask = torch.zeros(MOTION_DIM, dtype=torch.bool)
    for name in names:
        mask[LAYOUT[name]] = True
    return mask


def _wrap(angle: Tensor) -> Tensor:
    return torch.remainder(angle + math.pi, 2 * math.pi) - math.pi


def _next_minus_current(x: Tensor) -> Tensor:
    """x[t+1] - x[t] along the time axis (-2 for vectors), last value repeated."""
    if x.shape[-2] < 2:
        return torch.zeros_like(x)
    d = x[..., 1:, :] - x[..., :-1, :]
    return torch.cat((d, d[..., -1:, :]), dim=-2)


def encode(
    local_rots: Tensor,
    root_pos: Tensor,
    betas: Tensor,
    joints: Tensor,
    fps: float = MODEL_FPS,
    cam_R: Tensor | None = None,
    cam_t: Tensor | None = None,
    contacts: Tensor | None = None,
) -> Tensor:
    """Motion -> per-frame vectors (..., T, MOTION_DIM).

    local_rots (..., T, 24, 3, 3); root_pos (..., T, 3) world pelvis positions with the ground at y = 0;
    betas (..., 10); joints (..., T, 24, 3) world joints (for contact labels unless `contacts` is given);
    cam_R (..., T, 3, 3), cam_t (..., T, 3) world-to-camera extrinsics, or None (camera fields are zero).
    """
    if local_rots.shape[-3:] != (NUM_JOINTS, 3, 3):
        raise ValueError(f"local_rots: expected shape (..., T, 24, 3, 3), got {tuple(local_rots.shape)}")
    root = local_rots[..., 0, :, :]
    heading = heading_angle(root)
    head_rot = rotation_about_y(heading)
    tilt = head_rot.transpose(-1, -2) @ root
    yaw_vel = _wrap(_next_minus_current(heading[..., None]))
    vel_world = _next_minus_current(root_pos)
    vel_local = (head_rot.transpose(-1, -2) @ vel_world[..., None])[..., 0]
    frames = local_rots.shape[:-3]
    if contacts is None:
        contacts = contact_labels(joints, fps)
    if cam_R is None:
        incam_orient = torch.zeros(*frames, 6, dtype=root.dtype, device=root.device)
        incam_transl = torch.zeros(*frames, 3, dtype=root.dtype, device=root.device)
    else:
        incam_orient = matrix_to_rot6d(cam_R @ root)
        incam_transl = (cam_R @ root_pos[..., None])[..., 0] + cam_t
    parts = {
        "root_tilt": matrix_to_rot6d(tilt),
        "yaw_vel": yaw_vel,
        "root_vel": vel_local,
        "root_height": root_pos[..., 1:2],
        "body_pose": matrix_to_rot6d(local_rots[..., 1:, :, :]).flatten(-2),
        "betas": betas[..., None, :].expand(*frames, 10),
        "incam_orient": incam_orient,
        "incam_transl": incam_transl,
        "contacts": contacts,
    }
    return torch.cat([parts[name] for name, _ in _SIZES], dim=-1)


def decode(
    x: Tensor,
    rest_joints: Tensor,
    initial_heading: Tensor | float = 0.0,
    initial_xz: Tensor | None = None,
) -> dict[str, Tensor]:
    """Per-frame vectors (..., T, MOTION_DIM) -> body and camera, differentiably.

    rest_joints: (24, 3) or (..., 24, 3) with the batch dims of x (without T).
    Returns local_rots (..., T, 24, 3, 3), global_rots, root_pos (..., T, 3), joints_world (..., T, 24, 3),
    joints_cam (..., T, 24, 3), cam_R (..., T, 3, 3), cam_t (..., T, 3), betas (..., 10), contacts (..., T, 6).
    """
    if x.shape[-1] != MOTION_DIM:
        raise ValueError(f"motion vectors: expected last dimension {MOTION_DIM}, got {tuple(x.shape)}")
    f = {name: x[..., sl] for name, sl in LAYOUT.items()}
    yaw_vel = f["yaw_vel"][..., 0]
    heading = torch.cumsum(yaw_vel, dim=-1) - yaw_vel + torch.as_tensor(initial_heading, dtype=x.dtype)[..., None]
    head_rot = rotation_about_y(heading)
    root_rot = head_rot @ rot6d_to_matrix(f["root_tilt"])
    step = (head_rot @ f["root_vel"][..., None])[..., 0]
    planar = torch.cumsum(step, dim=-2) - step
    if initial_xz is not None:
        planar = planar + torch.stack((initial_xz[..., 0], torch.zeros_like(initial_xz[..., 0]), initial_xz[..., 1]), -1)[..., None, :]
    root_pos = torch.stack((planar[..., 0], f["root_height"][..., 0], planar[..., 2]), dim=-1)
    body = rot6d_to_matrix(f["body_pose"].unflatten(-1, (NUM_JOINTS - 1, 6)))
    local_rots = torch.cat((root_rot[..., None, :, :], body), dim=-3)
    rest = rest_joints if rest_joints.dim() == 2 else rest_joints[..., None, :, :]
    global_rots, joints_world = forward_kinematics(local_rots, rest, root_pos)
    incam_rot = rot6d_to_matrix(f["incam_orient"])
    cam_R = incam_rot @ root_rot.transpose(-1, -2)
    cam_t = f["incam_transl"] - (cam_R @ root_pos[..., None])[..., 0]
    joints_cam = (cam_R[..., None, :, :] @ joints_world[..., None])[..., 0] + cam_t[..., None, :]
    return {
        "local_rots": local_rots,
        "global_rots": global_rots,
        "root_pos": root_pos,
        "joints_world": joints_world,
        "joints_cam": joints_cam,
        "cam_R": cam_R,
        "cam_t": cam_t,
        "betas": f["betas"].mean(dim=-2),
        "contacts": f["contacts"].clamp(0.0, 1.0),
    }
