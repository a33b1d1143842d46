"""Convert parsed source motion (BVH skeletons, joint positions) to SMPL-24 clips."""

from __future__ import annotations

import numpy as np

from genmo.body.skeleton import NUM_JOINTS, PARENTS
from genmo.data.clip import Clip, default_rest_joints, finish_clip
from genmo.data.jointmap import auto_joint_map
from genmo.data.retarget import L_HAND, L_WRIST, NECK, PELVIS, R_HAND, R_WRIST, retarget, upright_rest
from genmo.motion.bvh import Bvh


def _up_fix(positions: np.ndarray, neck: int, pelvis: int) -> np.ndarray | None:
    """Rotation turning a Z-up (or X-up) capture Y-up, from the mean spine direction; None if Y-up."""
    spine = (positions[:, neck] - positions[:, pelvis]).mean(0)
    axis = int(np.argmax(np.abs(spine)))
    if axis == 1:
        return None if spine[1] > 0 else np.diag([1.0, -1.0, -1.0])
    sign = np.sign(spine[axis])
    if axis == 2:  # Z up -> Y up: rotate -90 deg about X (y <- z, z <- -y)
        m = np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]], dtype=np.float64)
    else:  # X up -> Y up: rotate +90 deg about Z
        m = np.array([[0, 1, 0], [-1, 0, 0], [0, 0, 1]], dtype=np.float64)
    return m if sign > 0 else np.diag([1.0, -1.0, -1.0]) @ m


def bvh_to_clip(
    bvh: Bvh,
    joint_map: dict[int, int] | None = None,
    rest_joints: np.ndarray | None = None,
    scale: float | None = None,
    meta: dict | None = None,
) -> tuple[Clip, np.ndarray]:
    """Retarget a BVH to SMPL-24 (30 fps, metres, Y up, floor at y = 0, start facing +Z).

    joint_map: SMPL index -> BVH joint index (automatic name matching when None).
    Returns the clip and its world joints (N, 24, 3) on the SMPL rest skeleton.
    """
    rest = default_rest_joints() if rest_joints is None else np.asarray(rest_joints, dtype=np.float64)
    mapping = auto_joint_map(bvh.names, bvh.parents) if joint_map is None else dict(joint_map)
    if PELVIS not in mapping:
        raise ValueError(f"{bvh.source}: joint map lacks the pelvis")
    if bvh.num_frames < 2:
        raise ValueError(f"{bvh.source}: needs at least 2 frames, has {bvh.num_frames}")
    glob_r, glob_p = bvh.forward_kinematics(scale if scale is not None else bvh.guess_scale())
    sites = bvh.end_site_positions(glob_r, glob_p, scale if scale is not None else bvh.guess_scale())
    n = bvh.num_frames
    pos = np.zeros((n, NUM_JOINTS, 3))
    rots = np.broadcast_to(np.eye(3), (n, NUM_JOINTS, 3, 3)).copy()
    avail = np.zeros(NUM_JOINTS, dtype=bool)
    has_rot = np.zeros(NUM_JOINTS, dtype=bool)
    for smpl, src in mapping.items():
        pos[:, smpl] = glob_p[:, src]
        rots[:, smpl] = glob_r[:, src]
        avail[smpl] = has_rot[smpl] = True
    for wrist, hand in ((L_WRIST, L_HAND), (R_WRIST, R_HAND)):
        src = mapping.get(wrist)
        if not avail[hand] and src is not None and src in sites:
            if np.linalg.norm(sites[src] - glob_p[:, src], axis=-1).mean() > 0.02:
                pos[:, hand] = sites[src]
                avail[hand] = True
    has_rot[[L_HAND, R_HAND]] = False
    top = NECK if avail[NECK] else max(j for j in range(NUM_JOINTS) if avail[j] and j in (3, 6, 9))
    fix = _up_fix(pos, top, PELVIS)
    if fix is not None:
        pos = pos @ fix.T
        rots = fix @ rots
    rest_pos = _rest_pose(bvh, mapping, pos[0], scale if scale is not None else bvh.guess_scale())
    if fix is not None or not upright_rest(rest_pos, avail):
        rest_pos = None
    result = retarget(pos, avail, rest, source_rots=rots, rot_map=has_rot, source_rest=rest_pos)
    info = {"joint_map": {int(k): bvh.names[v] for k, v in mapping.items()}, "src_fps": bvh.fps}
    info.update(meta or {})
    return finish_clip(result, pos, bvh.fps, rest, info)


def _rest_pose(bvh: Bvh, mapping: dict[int, int], frame0: np.ndarray, scale: float) -> np.ndarray:
    """Source joint positions with every rotation zero (offsets only), in SMPL order; entries
    without a source joint (end points) are copied from the first frame and not used."""
    world = np.zeros((len(bvh.names), 3))
    for j, p in enumerate(bvh.parents):
        world[j] = bvh.offsets[j] * scale + (world[p] if p >= 0 else 0)
    out = frame0.copy()
    for smpl, src in mapping.items():
        out[smpl] = world[src]
    for wrist, hand in ((L_WRIST, L_HAND), (R_WRIST, R_HAND)):
        src = mapping.get(wrist)
        if hand not in mapping and src is not None and src in bvh.end_sites:
            out[hand] = world[src] + bvh.end_sites[src] * scale
    return out


def positions_to_clip(
    positions: np.ndarray, avail: np.ndarray, fps: float, rest_joints: np.ndarray | None = None, meta: dict | None = None
) -> tuple[Clip, np.ndarray]:
    """Inverse kinematics for position-only data already in SMPL joint order (N, 24, 3) metres Y-up."""
    rest = default_rest_joints() if rest_joints is None else np.asarray(rest_joints, dtype=np.float64)
    result = retarget(positions, avail, rest)
    return finish_clip(result, positions, fps, rest, meta)


__all__ = ["bvh_to_clip", "positions_to_clip", "PARENTS"]
