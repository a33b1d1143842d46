"""The body-model interface: pose + shape + translation -> joints, vertices and faces."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from genmo.body.kinematics import forward_kinematics, linear_blend_skinning
from genmo.body.rotations import axis_angle_to_matrix
from genmo.body.skeleton import NUM_JOINTS, PARENTS


@dataclass
class BodyOutput:
    """A posed body: world joints (..., 24, 3), global joint rotations (..., 24, 3, 3), vertices (..., V, 3)."""

    joints: Tensor
    global_rots: Tensor
    vertices: Tensor | None


class BodyModel:
    """A skinned body rigged to the SMPL-24 skeleton.

    Subclasses provide ``rest_joints(betas)`` and ``rest_vertices(betas)`` plus skinning
    ``weights`` (V, 24) and ``faces`` (F, 3). Translation follows SMPL: the posed pelvis sits
    at ``rest_joints(betas)[0] + trans``.
    """

    name: str = "body"
    num_joints: int = NUM_JOINTS
    parents: tuple[int, ...] = PARENTS
    faces: np.ndarray
    weights: Tensor

    def rest_joints(self, betas: Tensor | None = None) -> Tensor:
        """T-pose joint positions (..., 24, 3) for shape coefficients (..., 10)."""
        raise NotImplementedError

    def rest_vertices(self, betas: Tensor | None = None) -> Tensor:
        """T-pose vertices (V, 3) for shape coefficients (10,)."""
        raise NotImplementedError

    def forward(
        self,
        pose: Tensor,
        betas: Tensor | None = None,
        trans: Tensor | None = None,
        with_vertices: bool = True,
    ) -> BodyOutput:
        """Pose the body.

        pose: (..., 72) axis-angle (root first) or (..., 24, 3, 3) local rotation matrices.
        betas: (10,) or (..., 10); trans: (..., 3) SMPL translation (default zero).
        """
        local = _as_rotmats(pose)
        batch = local.shape[:-3]
        if betas is None:
            betas = torch.zeros(10, dtype=local.dtype)
        betas = torch.as_tensor(betas, dtype=local.dtype)
        if trans is None:
            trans = torch.zeros(*batch, 3, dtype=local.dtype)
        trans = torch.as_tensor(trans, dtype=local.dtype)
        if trans.shape[-1] != 3 or torch.isnan(trans).any():
            raise ValueError(f"trans: expected finite values of shape (..., 3), got {tuple(trans.shape)}")
        rest = self.rest_joints(betas)
        root = rest[..., 0, :] + trans
        global_rots, joints = forward_kinematics(local, rest, root, self.parents)
        vertices = None
        if with_vertices:
            shape_betas = betas if betas.dim() == 1 else betas.reshape(-1, 10)[0]
            verts_rest = self.rest_vertices(shape_betas)
            rest_single = self.rest_joints(shape_betas)
            vertices = linear_blend_skinning(verts_rest, self.weights.to(local.dtype), global_rots, joints, rest_single)
        return BodyOutput(joints=joints, global_rots=global_rots, vertices=vertices)

    __call__ = forward


def _as_rotmats(pose: Tensor) -> Tensor:
    pose = torch.as_tensor(pose)
    if not torch.is_floating_point(pose):
        pose = pose.float()
    if pose.shape[-2:] == (NUM_JOINTS, 3) and pose.shape[-1] == 3 and pose.dim() >= 2 and pose.shape[-2:] != (3, 3):
        pose = pose.reshape(*pose.shape[:-2], NUM_JOINTS * 3)
    if pose.shape[-1] == NUM_JOINTS * 3:
        rots = axis_angle_to_matrix(pose.reshape(*pose.shape[:-1], NUM_JOINTS, 3))
    elif pose.shape[-3:] == (NUM_JOINTS, 3, 3):
        rots = pose
    else:
        raise ValueError(
            f"pose: expected shape (..., 72) axis-angle or (..., 24, 3, 3) rotation matrices, got {tuple(pose.shape)}"
        )
    if torch.isnan(rots).any():
        raise ValueError("pose contains NaN")
    return rots
