"""Foot-skate clean-up: pin heels and toes during labelled contact with analytic two-bone leg IK.

For every foot, each contact run of the heel (ankle) and toe (foot joint) channels gets an anchor,
the mean position of that point over the run; the pins fade in and out over a few frames around
each run. Heel contact moves the ankle to its anchor; toe-only contact translates the whole foot
(ankle and toe together); when both touch, the foot also turns about the ankle so the toe points
at its anchor. A two-bone IK on hip-knee-ankle reaches the moved ankle (clamped to the leg's
reach: a straight stance leg cannot be pulled further). Only the hip, knee and ankle rotations
change; root translation, other joints and contact labels are kept.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from genmo.body.model import BodyModel
from genmo.body.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from genmo.body.skeleton import CONTACT_JOINTS, NUM_JOINTS, PARENTS
from genmo.motion.motion import Motion

# (hip, knee, ankle, heel channel, toe channel) of each leg.
LEGS = ((1, 4, 7, 0, 1), (2, 5, 8, 2, 3))
CONTACT_THRESHOLD = 0.5
BLEND_SECONDS = 0.1


def clean_foot_skate(motion: Motion, body: BodyModel | None = None, blend_s: float = BLEND_SECONDS,
                     threshold: float = CONTACT_THRESHOLD) -> Motion:
    """A copy of ``motion`` with feet pinned during contact (see the module docstring).

    Contacts come from ``motion.contacts`` or, when absent, from joint height and speed.
    """
    if body is None:
        from genmo.body import load_body

        body = load_body()
    betas = torch.from_numpy(motion.betas).double()
    local = axis_angle_to_matrix(torch.from_numpy(motion.poses).double().reshape(-1, NUM_JOINTS, 3))
    with torch.no_grad():
        out = body(local, betas, torch.from_numpy(motion.trans).double(), with_vertices=False)
    glob, joints = out.global_rots.numpy(), out.joints.numpy()
    contacts = motion.contacts
    if contacts is None:
        from genmo.motion.contacts import contact_labels

        contacts = contact_labels(torch.from_numpy(joints), motion.fps).numpy()
    blend = max(1, int(round(blend_s * motion.fps)))
    local = local.numpy().copy()
    for hip, knee, ankle, heel_ch, toe_ch in LEGS:
        toe = CONTACT_JOINTS[toe_ch]
        heel_on, toe_on = (np.asarray(contacts)[:, [heel_ch, toe_ch]] > threshold).T
        heel_shift, heel_w = _pin_shift(joints[:, ankle], heel_on, blend)
        toe_shift, toe_w = _pin_shift(joints[:, toe], toe_on, blend)
        # Heel contact moves the ankle; toe-only contact translates the whole foot; when both touch
        # the foot also turns about the ankle so the toe points at its anchor.
        ankle_shift = heel_shift + (1 - heel_w)[:, None] * toe_shift
        toe_target = joints[:, toe] + toe_shift + (1 - toe_w)[:, None] * ankle_shift
        moving = np.abs(ankle_shift).sum(-1) + np.abs(toe_shift).sum(-1) > 0
        if not moving.any():
            continue
        ankle_target = joints[moving, ankle] + ankle_shift[moving]
        new_hip, new_knee = two_bone_ik(joints[moving][:, [hip, knee, ankle]], glob[moving][:, [hip, knee]],
                                        ankle_target)
        turn = _rotation_between(joints[moving, toe] - joints[moving, ankle], toe_target[moving] - ankle_target)
        local[moving, hip] = np.swapaxes(glob[moving, PARENTS[hip]], -1, -2) @ new_hip
        local[moving, knee] = np.swapaxes(new_hip, -1, -2) @ new_knee
        local[moving, ankle] = np.swapaxes(new_knee, -1, -2) @ turn @ glob[moving, ankle]
    poses = matrix_to_axis_angle(torch.from_numpy(local)).reshape(-1, NUM_JOINTS * 3).float()
    with torch.no_grad():
        new_joints = body(poses, betas.float(), torch.from_numpy(motion.trans), with_vertices=False).joints
    return dataclasses.replace(motion, poses=poses.numpy(), joints=new_joints.numpy(),
                               contacts=None if motion.contacts is None else motion.contacts.copy(),
                               extras=dict(motion.extras))


def _pin_shift(points: np.ndarray, on: np.ndarray, blend: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame displacement (N, 3) pinning ``points`` (N, 3) to the mean of each contact run in ``on``
    (N,), and its weight (N,): 1 in a run, fading linearly to 0 over ``blend`` frames on both sides."""
    frames = len(points)
    shift, weight = np.zeros((frames, 3)), np.zeros(frames)
    idx = np.arange(frames)
    for start, end in _runs(on):
        ramp = np.ones(frames)
        ramp[:start] = np.clip(1 - (start - idx[:start]) / (blend + 1), 0, 1)
        ramp[end:] = np.clip(1 - (idx[end:] - end + 1) / (blend + 1), 0, 1)
        delta = points[start:end].mean(0) - points
        delta[:start], delta[end:] = delta[start], delta[end - 1]
        take = ramp > weight
        shift[take], weight[take] = ramp[take, None] * delta[take], ramp[take]
    return shift, weight


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) ranges where ``flags`` is true."""
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def two_bone_ik(chain: np.ndarray, rots: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Analytic two-bone IK: new world rotations of the upper and middle joints.

    chain (N, 3, 3): world positions of root (hip), middle (knee) and end (ankle); rots (N, 2, 3, 3)
    their current world rotations (hip, knee); target (N, 3) wanted end position (clamped to the
    reachable range). The knee stays in the plane of hip, target and the current knee.
    """
    a, b, c = chain[:, 0], chain[:, 1], chain[:, 2]
    upper = np.linalg.norm(b - a, axis=-1)
    lower = np.linalg.norm(c - b, axis=-1)
    to_target = target - a
    dist = np.linalg.norm(to_target, axis=-1)
    reach = np.clip(dist, np.abs(upper - lower) + 1e-5, (upper + lower) * (1 - 1e-5))
    direction = _unit(to_target, fallback=c - a)
    pole = (b - a) - np.sum((b - a) * direction, -1, keepdims=True) * direction
    pole = _unit(pole, fallback=rots[:, 0, :, 2])  # straight leg: bend towards the hip's forward axis
    cos_a = np.clip((upper**2 + reach**2 - lower**2) / (2 * upper * reach), -1.0, 1.0)
    knee = a + upper[:, None] * (cos_a[:, None] * direction + np.sqrt(1 - cos_a**2)[:, None] * pole)
    end = a + reach[:, None] * direction
    swing_upper = _rotation_between(b - a, knee - a)
    bent_lower = np.einsum("nab,nb->na", swing_upper, c - b)
    swing_lower = _rotation_between(bent_lower, end - knee)
    new_upper = swing_upper @ rots[:, 0]
    new_lower = swing_lower @ swing_upper @ rots[:, 1]
    return new_upper, new_lower


def _unit(v: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    fallback = fallback / np.maximum(np.linalg.norm(fallback, axis=-1, keepdims=True), 1e-12)
    return np.where(norm > 1e-8, v / np.maximum(norm, 1e-12), fallback)


def _rotation_between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Smallest rotations (N, 3, 3) turning directions u (N, 3) onto v (N, 3)."""
    u = u / np.linalg.norm(u, axis=-1, keepdims=True)
    v = v / np.linalg.norm(v, axis=-1, keepdims=True)
    w = np.cross(u, v)
    cos = np.clip(np.sum(u * v, -1), -1 + 1e-6, 1.0)
    skew = np.zeros((len(u), 3, 3))
    skew[:, 0, 1], skew[:, 0, 2], skew[:, 1, 2] = -w[:, 2], w[:, 1], -w[:, 0]
    skew = skew - np.swapaxes(skew, 1, 2)
    return np.eye(3) + skew + skew @ skew / (1 + cos)[:, None, None]
