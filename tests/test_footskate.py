import math

import numpy as np
import pytest
import torch

from genmo.body import load_body
from genmo.body.rotations import axis_angle_to_matrix
from genmo.cleanup import clean_foot_skate, contact_foot_sliding, two_bone_ik
from genmo.motion.motion import Motion

LEG_JOINTS = (1, 2, 4, 5, 7, 8)


@pytest.fixture(scope="module")
def body():
    return load_body("default")


def sliding_walk(body, seconds=4.0, fps=30.0, speed=1.3, swing=0.35):
    """A walk whose root moves faster than the stance feet push it: feet slide; contacts by construction."""
    n = int(seconds * fps)
    t = np.arange(n) / fps
    phase = 2 * math.pi * 1.0 * t
    aa = np.zeros((n, 24, 3))
    for hip, knee, sign in ((1, 4, 1.0), (2, 5, -1.0)):
        flex = sign * swing * np.sin(phase)
        aa[:, hip, 0] = -flex
        aa[:, knee, 0] = 0.3 + 0.8 * np.maximum(0.0, sign * np.cos(phase))
    aa[:, 16, 2], aa[:, 17, 2] = -1.2, 1.2  # arms down
    rest = body.rest_joints(torch.zeros(10)).numpy()
    trans = np.stack([np.zeros(n), np.full(n, -rest[[7, 8], 1].min() + 0.02), speed * t], -1)
    stance_l, stance_r = np.cos(phase) < -0.3, np.cos(phase) > 0.3
    contacts = np.stack([stance_l, stance_l, stance_r, stance_r, np.zeros(n), np.zeros(n)], -1).astype(np.float32)
    motion = Motion(poses=aa.reshape(n, 72), trans=trans, betas=np.zeros(10), fps=fps, contacts=contacts)
    with torch.no_grad():
        motion.joints = body(torch.from_numpy(motion.poses), None, torch.from_numpy(motion.trans),
                             with_vertices=False).joints.numpy()
    return motion


def _rots(motion):
    return axis_angle_to_matrix(torch.from_numpy(motion.poses).double().reshape(-1, 24, 3)).numpy()


def test_two_bone_ik_reaches_reachable_targets_and_keeps_bone_lengths():
    rng = np.random.default_rng(0)
    n = 200
    a = rng.normal(0, 0.1, (n, 3))
    b = a + np.array([0, -0.4, 0.05]) + rng.normal(0, 0.05, (n, 3))
    c = b + np.array([0, -0.38, -0.15]) + rng.normal(0, 0.05, (n, 3))
    rots = axis_angle_to_matrix(torch.from_numpy(rng.normal(0, 0.5, (n, 2, 3)))).numpy()
    target = c + rng.normal(0, 0.05, (n, 3))
    upper, lower = np.linalg.norm(b - a, axis=1), np.linalg.norm(c - b, axis=1)
    reachable = (np.linalg.norm(target - a, axis=1) < upper + lower - 1e-3) & (
        np.linalg.norm(target - a, axis=1) > np.abs(upper - lower) + 1e-3)
    new_upper, new_lower = two_bone_ik(np.stack([a, b, c], 1), rots, target)
    # move the bones rigidly with the new rotations: knee = a + R_new R_old^T (b - a), etc.
    knee = a + np.einsum("nab,nb->na", new_upper @ np.swapaxes(rots[:, 0], 1, 2), b - a)
    end = knee + np.einsum("nab,nb->na", new_lower @ np.swapaxes(rots[:, 1], 1, 2), c - b)
    assert reachable.sum() > 100 and (~reachable).sum() > 20
    assert np.abs(end - target)[reachable].max() < 1e-6
    far = ~reachable & (np.linalg.norm(target - a, axis=1) > upper)
    direction = (target - a) / np.linalg.norm(target - a, axis=1, keepdims=True)
    got = (end - a) / np.linalg.norm(end - a, axis=1, keepdims=True)
    assert np.abs(got - direction)[far].max() < 1e-4  # unreachable: points at the target, fully stretched
    for m in (new_upper, new_lower):
        np.testing.assert_allclose(m @ np.swapaxes(m, 1, 2), np.broadcast_to(np.eye(3), m.shape), atol=1e-9)


def test_sliding_walk_cleanup_pins_feet(body):
    motion = sliding_walk(body)
    before = contact_foot_sliding(motion.joints, motion.contacts)
    clean = clean_foot_skate(motion, body)
    after = contact_foot_sliding(clean.joints, clean.contacts)
    assert before > 10.0 and after < 0.25 * before
    np.testing.assert_array_equal(clean.trans, motion.trans)
    np.testing.assert_array_equal(clean.contacts, motion.contacts)
    others = [j for j in range(24) if j not in LEG_JOINTS]
    np.testing.assert_allclose(_rots(clean)[:, others], _rots(motion)[:, others], atol=1e-5)
    foot = np.linalg.norm(clean.joints[:, 10] - clean.joints[:, 7], axis=-1)  # the foot stays rigid
    np.testing.assert_allclose(foot, np.linalg.norm(motion.joints[0, 10] - motion.joints[0, 7]), atol=1e-5)
    first_run = slice(9, 18)  # left heel and toe both in contact, leg within reach: fully pinned
    assert np.ptp(clean.joints[first_run][:, [7, 10]], axis=0).max() < 2e-3


def test_frames_far_from_contact_are_untouched_and_blend_is_gradual(body):
    motion = sliding_walk(body, seconds=2.0)
    motion.contacts[:] = 0
    motion.contacts[10:18, 0] = 1  # one left-heel contact run
    clean = clean_foot_skate(motion, body, blend_s=0.1)  # 3 frames of blend at 30 fps
    moved = np.linalg.norm(clean.joints[:, 7] - motion.joints[:, 7], axis=-1)
    assert moved[:7].max() < 1e-5 and moved[21:].max() < 1e-5
    assert 0 < moved[7] < moved[8] < moved[9] and 0 < moved[20] < moved[19] < moved[18]
    assert np.ptp(clean.joints[10:17, 7], axis=0).max() < 1e-4  # pinned (frame 17 reaches the straight leg's limit)
    assert np.abs(clean.joints[:, 8] - motion.joints[:, 8]).max() < 1e-5  # right leg untouched


def test_cleanup_without_contact_labels_uses_joint_based_labels(body):
    motion = sliding_walk(body, seconds=2.0, speed=0.2, swing=0.05)
    motion.contacts = None
    clean = clean_foot_skate(motion, body)
    assert clean.contacts is None and np.isfinite(clean.poses).all()


def test_tiny_pipeline_motion_cleanup_reduces_sliding(body):
    from genmo.pipeline import GenmoPipeline
    from genmo.spec import load_spec

    spec = load_spec({"version": 1, "fps": 30, "duration": 2.0, "tracks": []}, check_files=False)
    motion = GenmoPipeline.tiny_random()(spec, steps=2, seed=3).motion
    # The untrained model labels no contacts: label the slower half of each foot channel's frames.
    feet = motion.joints[:, [7, 10, 8, 11]]
    speed = np.linalg.norm(np.diff(feet, axis=0, prepend=feet[:1]), axis=-1)
    motion.contacts[:, :4] = speed < np.median(speed, axis=0)
    clean = clean_foot_skate(motion, body)
    before = contact_foot_sliding(motion.joints, motion.contacts)
    after = contact_foot_sliding(clean.joints, clean.contacts)
    assert np.isfinite(clean.poses).all() and after < 0.5 * before


def test_sliding_metric_known_answer_and_bad_input():
    joints = np.zeros((4, 24, 3))
    joints[:, 7, 0] = [0.0, 0.01, 0.02, 0.03]  # left heel moves 10 mm per frame
    joints[:, 7, 1] = [0.0, 0.5, 0.0, 0.5]  # vertical motion does not count
    contacts = np.zeros((4, 6))
    contacts[:3, 0] = 1
    assert contact_foot_sliding(joints, contacts) == pytest.approx(10.0)
    assert np.isnan(contact_foot_sliding(joints, np.zeros((4, 6))))
    with pytest.raises(ValueError, match="contacts"):
        contact_foot_sliding(joints, np.zeros((3, 6)))
