"""The one synthetic skeleton and walk, for tests, smoke training and the bench (no data needed).

REST_JOINTS is an SMPL-like T-pose (metres, Y up, facing +Z, left = +X, pelvis at 0.95 m);
``walking_motion`` moves it along a turning path with every joint swinging.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from genmo.body.kinematics import forward_kinematics
from genmo.body.rotations import axis_angle_to_matrix, matrix_to_axis_angle, rotation_about_y
from genmo.body.skeleton import NUM_JOINTS
from genmo.constants import MODEL_FPS

REST_JOINTS = torch.tensor([
    [0.0, 0.95, 0.0], [0.06, 0.86, 0.0], [-0.06, 0.86, 0.0], [0.0, 1.06, -0.02],
    [0.10, 0.48, 0.0], [-0.10, 0.48, 0.0], [0.0, 1.19, 0.0], [0.09, 0.08, -0.03],
    [-0.09, 0.08, -0.03], [0.0, 1.25, 0.02], [0.12, 0.02, 0.09], [-0.12, 0.02, 0.09],
    [0.0, 1.47, -0.01], [0.07, 1.38, 0.0], [-0.07, 1.38, 0.0], [0.0, 1.62, 0.04],
    [0.18, 1.40, -0.01], [-0.18, 1.40, -0.01], [0.44, 1.39, -0.03], [-0.44, 1.39, -0.03],
    [0.69, 1.40, -0.03], [-0.69, 1.40, -0.03], [0.77, 1.39, -0.04], [-0.77, 1.39, -0.04],
])


def walking_motion(frames: int, fps: float = MODEL_FPS, seed: int = 0) -> dict[str, Tensor]:
    """A smooth walk that turns: local_rots (T, 24, 3, 3), root_pos (T, 3), joints (T, 24, 3) world,
    heading (T,) and the rest skeleton."""
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(frames, dtype=torch.float32) / fps
    phase = 2 * math.pi * 1.0 * t
    aa = torch.zeros(frames, NUM_JOINTS, 3)
    amp = 0.2 + 0.1 * torch.rand(NUM_JOINTS, 3, generator=gen)
    aa[:, 1:] = amp[1:] * torch.sin(phase[:, None, None] + torch.rand(NUM_JOINTS - 1, 3, generator=gen) * 6)
    heading = 0.3 * t + 0.5 * torch.sin(0.2 * phase)
    tilt = 0.05 * torch.sin(phase)[:, None] * torch.tensor([1.0, 0.0, 0.3])
    local = axis_angle_to_matrix(aa)
    local[:, 0] = rotation_about_y(heading) @ axis_angle_to_matrix(tilt)
    step = torch.stack((torch.sin(heading), torch.zeros(frames), torch.cos(heading)), -1) * 1.2 / fps
    root = torch.cumsum(step, 0) + torch.tensor([0.5, 0.0, -2.0])
    root[:, 1] = REST_JOINTS[0, 1] + 0.02 * torch.sin(2 * phase)
    _, joints = forward_kinematics(local, REST_JOINTS, root)
    return {"local_rots": local, "root_pos": root, "joints": joints, "heading": heading, "rest": REST_JOINTS.clone()}


def walking_motion_file(frames: int, fps: float = MODEL_FPS, seed: int = 0) -> dict:
    """``walking_motion`` as the keys of a motion file: poses (T, 72) axis-angle, trans (T, 3), betas, fps."""
    walk = walking_motion(frames, fps, seed)
    poses = matrix_to_axis_angle(walk["local_rots"]).reshape(frames, 72).numpy()
    trans = (walk["root_pos"] - REST_JOINTS[0]).numpy()
    return {"poses": poses, "trans": trans, "betas": torch.zeros(10).numpy(), "fps": float(fps)}
