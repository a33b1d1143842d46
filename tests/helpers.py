"""Shared test fixtures that build synthetic but realistic motion."""

from __future__ import annotations

import math

import torch

from genmo.body.kinematics import forward_kinematics
from genmo.body.rotations import axis_angle_to_matrix, rotation_about_y
from genmo.body.skeleton import NUM_JOINTS, PARENTS


def toy_rest_joints() -> torch.Tensor:
    """A plausible SMPL-24 T-pose skeleton (metres, Y up, facing +Z, left at +X), pelvis at 0.93 m."""
    offsets = {
        1: (0.07, -0.09, 0.0), 2: (-0.07, -0.09, 0.0), 3: (0.0, 0.11, -0.02), 4: (0.04, -0.38, 0.0),
        5: (-0.04, -0.38, 0.0), 6: (0.0, 0.13, 0.0), 7: (-0.01, -0.40, -0.04), 8: (0.01, -0.40, -0.04),
        9: (0.0, 0.05, 0.02), 10: (0.02, -0.06, 0.12), 11: (-0.02, -0.06, 0.12), 12: (0.0, 0.21, -0.04),
        13: (0.08, 0.12, -0.03), 14: (-0.08, 0.12, -0.03), 15: (0.0, 0.07, 0.05), 16: (0.09, 0.03, -0.01),
        17: (-0.09, 0.03, -0.01), 18: (0.26, 0.0, -0.02), 19: (-0.26, 0.0, -0.02), 20: (0.25, 0.0, 0.0),
        21: (-0.25, 0.0, 0.0), 22: (0.08, -0.01, -0.01), 23: (-0.08, -0.01, -0.01),
    }
    rest = torch.zeros(NUM_JOINTS, 3)
    rest[0] = torch.tensor([0.0, 0.93, 0.0])
    for j in range(1, NUM_JOINTS):
        rest[j] = rest[PARENTS[j]] + torch.tensor(offsets[j])
    return rest


def walking_motion(frames: int, fps: float = 30.0, seed: int = 0) -> dict[str, torch.Tensor]:
    """A smooth synthetic walk that turns: local rotations, root positions and joints."""
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
    speed = 1.2 / fps
    step = torch.stack((torch.sin(heading), torch.zeros(frames), torch.cos(heading)), -1) * speed
    root = torch.cumsum(step, 0) + torch.tensor([0.5, 0.0, -2.0])
    root[:, 1] = 0.93 + 0.02 * torch.sin(2 * phase)
    rest = toy_rest_joints()
    _, joints = forward_kinematics(local, rest, root)
    return {"local_rots": local, "root_pos": root, "joints": joints, "heading": heading, "rest": rest}
