"""Forward kinematics and linear blend skinning on the SMPL-24 tree (batched torch)."""

from __future__ import annotations

import torch
from torch import Tensor

from genmo.body.skeleton import NUM_JOINTS, PARENTS


def bone_offsets(rest_joints: Tensor, parents: tuple[int, ...] = PARENTS) -> Tensor:
    """Rest-pose offset of every joint from its parent; the root keeps its absolute position.

    (..., J, 3) -> (..., J, 3)
    """
    parent_pos = rest_joints[..., [max(p, 0) for p in parents], :]
    offsets = rest_joints - parent_pos
    offsets[..., 0, :] = rest_joints[..., 0, :]
    return offsets


def forward_kinematics(
    local_rots: Tensor, rest_joints: Tensor, root_pos: Tensor, parents: tuple[int, ...] = PARENTS
) -> tuple[Tensor, Tensor]:
    """Pose a skeleton.

    local_rots (..., J, 3, 3) rotations relative to each parent (the root's is global);
    rest_joints (..., J, 3) or (J, 3) rest (T-pose) joint positions;
    root_pos (..., 3) world position of the root joint.
    Returns global rotations (..., J, 3, 3) and world joint positions (..., J, 3).
    """
    num_joints = len(parents)
    if local_rots.shape[-3:] != (num_joints, 3, 3):
        raise ValueError(f"local_rots: expected shape (..., {num_joints}, 3, 3), got {tuple(local_rots.shape)}")
    if torch.isnan(local_rots).any():
        raise ValueError("local_rots contains NaN")
    offsets = bone_offsets(rest_joints, parents)
    batch = local_rots.shape[:-3]
    offsets = offsets.expand(*batch, num_joints, 3)
    glob: list[Tensor] = [local_rots[..., 0, :, :]]
    pos: list[Tensor] = [root_pos]
    for j in range(1, num_joints):
        p = parents[j]
        glob.append(glob[p] @ local_rots[..., j, :, :])
        pos.append(pos[p] + (glob[p] @ offsets[..., j, :, None])[..., 0])
    return torch.stack(glob, dim=-3), torch.stack(pos, dim=-2)


def global_to_local(global_rots: Tensor, parents: tuple[int, ...] = PARENTS) -> Tensor:
    """Global joint rotations -> rotations relative to each parent. (..., J, 3, 3) -> same."""
    parent_rots = global_rots[..., [max(p, 0) for p in parents], :, :]
    local = parent_rots.transpose(-1, -2) @ global_rots
    local[..., 0, :, :] = global_rots[..., 0, :, :]
    return local


def local_to_global(local_rots: Tensor, parents: tuple[int, ...] = PARENTS) -> Tensor:
    """Rotations relative to each parent -> global rotations. (..., J, 3, 3) -> same."""
    glob: list[Tensor] = [local_rots[..., 0, :, :]]
    for j in range(1, len(parents)):
        glob.append(glob[parents[j]] @ local_rots[..., j, :, :])
    return torch.stack(glob, dim=-3)


def skinning_transforms(global_rots: Tensor, posed_joints: Tensor, rest_joints: Tensor) -> tuple[Tensor, Tensor]:
    """Per-joint affine transforms mapping rest-pose points to posed points: p' = R p + t."""
    t = posed_joints - (global_rots @ rest_joints[..., None])[..., 0]
    return global_rots, t


def linear_blend_skinning(
    rest_vertices: Tensor, weights: Tensor, global_rots: Tensor, posed_joints: Tensor, rest_joints: Tensor
) -> Tensor:
    """Deform rest vertices (V, 3) with skinning weights (V, J) by posed joints.

    global_rots (..., J, 3, 3), posed_joints (..., J, 3), rest_joints (J, 3) or (..., J, 3).
    Returns posed vertices (..., V, 3).
    """
    rots, trans = skinning_transforms(global_rots, posed_joints, rest_joints)
    blended_r = torch.einsum("vj,...jab->...vab", weights, rots)
    blended_t = torch.einsum("vj,...ja->...va", weights, trans)
    return (blended_r @ rest_vertices[..., None])[..., 0] + blended_t


__all__ = [
    "NUM_JOINTS",
    "bone_offsets",
    "forward_kinematics",
    "global_to_local",
    "local_to_global",
    "linear_blend_skinning",
]
