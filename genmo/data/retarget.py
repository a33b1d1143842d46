"""Retarget source skeletons to SMPL-24 local rotations + root translation (metres, Y up).

The method works for any source that gives world joint positions (and, for rotation data,
world joint rotations):

1. Source joints are mapped to SMPL joints (``joint_map``: SMPL index -> source index).
2. For every mapped SMPL joint a *bone frame* is built from positions: a primary axis along
   the bone (or the hip line for the pelvis) and a secondary axis (the knee/elbow hinge axis
   for limbs, blended with a body axis so straight limbs stay defined; the body's left-right
   axis for the spine). The same construction on the SMPL T-pose gives the target frame, so
   ``G = F_src F_smpl^T`` is the SMPL global rotation that puts the SMPL bone where the
   source bone is: inverse kinematics for position-only data.
3. For rotation data the per-joint rest correction ``C = mean_t(G_src^T G)`` (a constant in
   the source joint's own frame: it absorbs A-pose/arms-down rests and arbitrary joint
   orients) is estimated over the clip, and ``G = G_src C`` keeps the source's twists.
4. Joints the source lacks get identity local rotations, or a share of the rotation of a
   spine chain (``split_chains``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genmo.body.skeleton import NUM_JOINTS, PARENTS

# SMPL joint indices used below.
PELVIS, L_HIP, R_HIP, SPINE1, L_KNEE, R_KNEE, SPINE2, L_ANKLE, R_ANKLE, SPINE3 = range(10)
L_FOOT, R_FOOT, NECK, L_COLLAR, R_COLLAR, HEAD, L_SHOULDER, R_SHOULDER = range(10, 18)
L_ELBOW, R_ELBOW, L_WRIST, R_WRIST, L_HAND, R_HAND = range(18, 24)

# Primary-axis child candidates of each SMPL joint (first available is used).
_PRIMARY_CHILD: dict[int, tuple[int, ...]] = {
    SPINE1: (SPINE2, SPINE3, NECK), SPINE2: (SPINE3, NECK), SPINE3: (NECK, HEAD), NECK: (HEAD,),
    L_COLLAR: (L_SHOULDER,), R_COLLAR: (R_SHOULDER,),
    L_HIP: (L_KNEE,), R_HIP: (R_KNEE,), L_KNEE: (L_ANKLE,), R_KNEE: (R_ANKLE,),
    L_ANKLE: (L_FOOT,), R_ANKLE: (R_FOOT,),
    L_SHOULDER: (L_ELBOW,), R_SHOULDER: (R_ELBOW,), L_ELBOW: (L_WRIST,), R_ELBOW: (R_WRIST,),
    L_WRIST: (L_HAND,), R_WRIST: (R_HAND,),
}
_LEGS = {L_HIP: (L_HIP, L_KNEE, L_ANKLE), L_KNEE: (L_HIP, L_KNEE, L_ANKLE), L_ANKLE: (L_HIP, L_KNEE, L_ANKLE),
         R_HIP: (R_HIP, R_KNEE, R_ANKLE), R_KNEE: (R_HIP, R_KNEE, R_ANKLE), R_ANKLE: (R_HIP, R_KNEE, R_ANKLE)}
_ARMS = {L_SHOULDER: (L_SHOULDER, L_ELBOW, L_WRIST), L_ELBOW: (L_SHOULDER, L_ELBOW, L_WRIST),
         L_WRIST: (L_SHOULDER, L_ELBOW, L_WRIST), R_SHOULDER: (R_SHOULDER, R_ELBOW, R_WRIST),
         R_ELBOW: (R_SHOULDER, R_ELBOW, R_WRIST), R_WRIST: (R_SHOULDER, R_ELBOW, R_WRIST)}
_HINGE_BLEND = 0.3


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _frame(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """Orthonormal frames (..., 3, 3) with columns (primary, secondary made orthogonal, cross)."""
    e1 = _unit(primary)
    e2 = _unit(secondary - (secondary * e1).sum(-1, keepdims=True) * e1)
    return np.stack((e1, e2, np.cross(e1, e2)), axis=-1)


def _have(avail: np.ndarray, *joints: int) -> bool:
    return all(avail[j] for j in joints)


def _body_axes(pos: np.ndarray, avail: np.ndarray, canonical: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hip left axis, shoulder left axis and forward axis of the torso, each (..., 3)."""
    hips = _unit(pos[..., L_HIP, :] - pos[..., R_HIP, :])
    if _have(avail, L_SHOULDER, R_SHOULDER):
        shoulders = _unit(pos[..., L_SHOULDER, :] - pos[..., R_SHOULDER, :])
    else:
        shoulders = hips
    top = next(j for j in (NECK, SPINE3, HEAD, SPINE2, SPINE1) if avail[j])
    up = _unit(pos[..., top, :] - pos[..., PELVIS, :])
    forward = _unit(np.cross(_unit(hips + shoulders), up))
    return hips, shoulders, forward


def bone_frames(pos: np.ndarray, avail: np.ndarray, canonical: bool = False) -> dict[int, np.ndarray]:
    """Bone frames (..., 3, 3) of every SMPL joint that the available positions define.

    pos (..., 24, 3) positions in SMPL joint order (entries of unavailable joints are ignored);
    avail (24,) bool. ``canonical`` builds limb frames without hinge terms (for the T-pose).
    """
    if not _have(avail, PELVIS, L_HIP, R_HIP):
        raise ValueError("retargeting needs the pelvis and both hips")
    hips, shoulders, forward = _body_axes(pos, avail, canonical)
    top = next(j for j in (SPINE1, SPINE2, SPINE3, NECK, HEAD) if avail[j])
    frames = {PELVIS: _frame(hips, pos[..., top, :] - pos[..., PELVIS, :])}
    for j, kids in _PRIMARY_CHILD.items():
        child = next((c for c in kids if avail[c]), None)
        if not avail[j] or child is None:
            continue
        bone = _unit(pos[..., child, :] - pos[..., j, :])
        if j in (SPINE1,):
            second = hips
        elif j in (SPINE2, SPINE3, NECK):
            second = shoulders
        elif j in (L_COLLAR, R_COLLAR):
            second = forward
        elif j in _LEGS:
            a, b, c = _LEGS[j]
            second = hips if canonical or not _have(avail, a, b, c) else (
                np.cross(_unit(pos[..., b, :] - pos[..., a, :]), _unit(pos[..., c, :] - pos[..., b, :])) + _HINGE_BLEND * hips
            )
        else:
            a, b, c = _ARMS[j]
            upper = _unit(pos[..., b, :] - pos[..., a, :])
            fallback = _unit(np.cross(upper, forward))
            second = fallback if canonical or not _have(avail, a, b, c) else (
                np.cross(upper, _unit(pos[..., c, :] - pos[..., b, :])) + _HINGE_BLEND * fallback
            )
        frames[j] = _frame(bone, second)
    return frames


def upright_rest(rest: np.ndarray, avail: np.ndarray, tolerance_deg: float = 35.0) -> bool:
    """Whether a source rest pose (24, 3) stands upright facing sideways-free: spine up, legs down."""
    top = next((j for j in (NECK, SPINE3, SPINE2, SPINE1) if avail[j]), None)
    if top is None or not _have(avail, L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE):
        return False
    cos = np.cos(np.radians(tolerance_deg))
    up = _unit(rest[top] - rest[PELVIS])
    legs = [_unit(rest[c] - rest[a]) for a, c in ((L_HIP, L_ANKLE), (R_HIP, R_ANKLE))]
    hips = _unit(rest[L_HIP] - rest[R_HIP])
    return bool(up[1] > cos and all(leg[1] < -cos for leg in legs) and abs(hips[1]) < 0.5)


def _project_so3(m: np.ndarray) -> np.ndarray:
    u, _, vt = np.linalg.svd(m)
    d = np.sign(np.linalg.det(u @ vt))
    u[..., :, -1] *= d[..., None]
    return u @ vt


def _fractional_rotation(r: np.ndarray, frac: float) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    shape = r.shape[:-2]
    rv = Rotation.from_matrix(r.reshape(-1, 3, 3)).as_rotvec() * frac
    return Rotation.from_rotvec(rv).as_matrix().reshape(*shape, 3, 3)


@dataclass
class RetargetResult:
    """SMPL local rotations (N, 24, 3, 3) and pelvis world positions (N, 3) in metres."""

    local_rots: np.ndarray
    pelvis: np.ndarray


def retarget(
    positions: np.ndarray,
    avail: np.ndarray,
    rest_joints: np.ndarray,
    source_rots: np.ndarray | None = None,
    rot_map: dict[int, np.ndarray] | None = None,
    split_chains: tuple[tuple[int, ...], ...] = ((SPINE1, SPINE2, SPINE3),),
    source_rest: np.ndarray | None = None,
) -> RetargetResult:
    """Retarget one clip.

    positions (N, 24, 3): source joint positions in SMPL order, metres, Y up (unavailable
    entries ignored); avail (24,) bool; rest_joints (24, 3) SMPL T-pose.
    source_rots (N, 24, 3, 3): source world rotations in SMPL order for rotation data (None
    for position-only data, which is solved by inverse kinematics from bone frames).
    rot_map (24,) bool: joints that carry a source rotation (default: ``avail``); joints with
    a rotation but no bone frame (e.g. feet, head) keep their parent's rest correction.
    source_rest (24, 3): source joint positions with all rotations zero, when that rest is an
    upright standing pose (T-, A- or arms-down): the corrections then come from comparing its
    bone frames with the SMPL T-pose's; otherwise they are averaged over the clip.
    """
    n = positions.shape[0]
    avail = np.asarray(avail, dtype=bool)
    rest_frames = bone_frames(rest_joints[None], avail, canonical=True)
    src_frames = bone_frames(positions, avail)
    rest_src_frames = bone_frames(source_rest[None], avail, canonical=True) if source_rest is not None else None
    glob = np.empty((n, NUM_JOINTS, 3, 3))
    has_rot = avail if rot_map is None else np.asarray(rot_map, dtype=bool)
    corrections: dict[int, np.ndarray] = {}
    for j in range(NUM_JOINTS):
        p = PARENTS[j]
        if j in src_frames:
            solved = src_frames[j] @ np.swapaxes(rest_frames[j], -1, -2)  # (N, 3, 3)
            if source_rots is not None and has_rot[j]:
                if rest_src_frames is not None:
                    corr = (rest_src_frames[j] @ np.swapaxes(rest_frames[j], -1, -2))[0]
                else:
                    corr = _project_so3((np.swapaxes(source_rots[:, j], -1, -2) @ solved).mean(0))
                corrections[j] = corr
                glob[:, j] = source_rots[:, j] @ corr
            else:
                glob[:, j] = solved
        elif source_rots is not None and has_rot[j] and p >= 0 and p in corrections:
            corrections[j] = corrections[p]
            glob[:, j] = source_rots[:, j] @ corrections[p]
        else:
            glob[:, j] = glob[:, p] if p >= 0 else np.eye(3)
    local = glob.copy()
    for j in range(1, NUM_JOINTS):
        local[:, j] = np.swapaxes(glob[:, PARENTS[j]], -1, -2) @ glob[:, j]
    for chain in split_chains:
        present = [j in src_frames or j in corrections for j in chain]
        run: list[int] = []
        for j, here in zip(chain, present):
            if not here:
                run.append(j)
                continue
            if run:
                segment = [*run, j]
                total = np.eye(3)[None].repeat(n, 0)
                for k in segment:
                    total = total @ local[:, k]
                share = _fractional_rotation(total, 1.0 / len(segment))
                for k in segment:
                    local[:, k] = share
            run = []
    return RetargetResult(local_rots=local.astype(np.float32), pelvis=positions[:, PELVIS].astype(np.float32))
