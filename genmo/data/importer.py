"""Retarget any BVH file to an SMPL-24 motion file (genmo.motion.Motion npz)."""

from __future__ import annotations

from pathlib import Path

from genmo.data.clip import default_rest_joints
from genmo.data.convert import bvh_to_clip
from genmo.data.jointmap import load_joint_map
from genmo.motion.bvh import read_bvh
from genmo.motion.motion import Motion


def import_bvh(path: Path, out: Path, joint_map: str | Path | None = None, scale: float | None = None) -> Motion:
    """Read ``path``, retarget to SMPL-24 at 30 fps (floor at y = 0, start facing +Z), save to ``out``."""
    bvh = read_bvh(path)
    mapping = load_joint_map(joint_map, bvh.names) if joint_map else None
    rest = default_rest_joints()
    clip, joints = bvh_to_clip(bvh, mapping, rest_joints=rest, scale=scale)
    motion = Motion(poses=clip.axis_angle().reshape(clip.num_frames, 72), trans=clip.trans, betas=[0.0] * 10,
                    fps=clip.fps, joints=joints)
    motion.save(out)
    return motion
