"""Sampled motion vectors -> the Motion a user gets, at the timeline's output frame rate.

The model samples at MODEL_FPS; another output rate is resampled from it (rotations by slerp,
the root, contacts and camera linearly) and the joints are recomputed on the resampled poses.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from genmo.body.model import BodyModel
from genmo.body.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from genmo.constants import MODEL_FPS
from genmo.motion.motion import Motion
from genmo.motion.representation import LAYOUT, decode
from genmo.motion.resample import resample_linear, slerp_resample


def vectors_to_motion(x: Tensor, body: BodyModel, fps: int, has_camera: bool) -> Motion:
    """One sample's unnormalised vectors (T, D) at MODEL_FPS -> Motion at ``fps`` (with the camera when
    ``has_camera``), posed on ``body`` with the sample's mean shape."""
    betas = x[:, LAYOUT["betas"]].mean(0)
    rest = body.rest_joints(betas)
    out = decode(x, rest)
    poses = matrix_to_axis_angle(out["local_rots"]).reshape(-1, 72).numpy()
    root = out["root_pos"].numpy()
    local_rots = out["local_rots"].numpy()
    if fps != MODEL_FPS:
        local_rots, root = slerp_resample(local_rots, root, MODEL_FPS, fps)
        poses = matrix_to_axis_angle(torch.as_tensor(local_rots)).reshape(-1, 72).numpy()
    trans = root - rest[0].numpy()
    if fps == MODEL_FPS:  # decode already ran the body's forward kinematics on these rotations
        joints = out["joints_world"]
    else:
        with torch.no_grad():
            joints = body(torch.as_tensor(poses), betas, torch.as_tensor(trans), with_vertices=False).joints
    contacts = resample_linear(out["contacts"].numpy(), MODEL_FPS, fps)
    cam: dict[str, np.ndarray] = {}
    if has_camera:
        cam_r = matrix_to_axis_angle(out["cam_R"])
        cam = {
            "cam_R": axis_angle_to_matrix(torch.as_tensor(resample_linear(cam_r.numpy(), MODEL_FPS, fps))).numpy(),
            "cam_t": resample_linear(out["cam_t"].numpy(), MODEL_FPS, fps),
        }
    return Motion(poses=poses, trans=trans, betas=betas.numpy(), fps=fps, joints=joints.numpy(),
                  contacts=contacts, **cam)
