"""Keyframes from motion files and the built-in pose library (checked with forward kinematics)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genmo.body.kinematics import forward_kinematics
from genmo.body.rotations import axis_angle_to_matrix
from genmo.conditions import ConditionError
from genmo.conditions.keyframes import load_keyframe
from genmo.conditions.pose_library import POSE_NAMES, library_pose

# Approximate SMPL neutral rest joints relative to the pelvis (metres, T-pose, facing +Z, Y up).
REST = torch.tensor([
    [0, 0, 0], [0.06, -0.09, 0], [-0.06, -0.09, 0], [0, 0.11, -0.02], [0.10, -0.47, 0], [-0.10, -0.47, 0],
    [0, 0.25, 0], [0.09, -0.87, -0.04], [-0.09, -0.87, -0.04], [0, 0.30, 0.02], [0.11, -0.93, 0.08],
    [-0.11, -0.93, 0.08], [0, 0.51, -0.01], [0.07, 0.42, 0], [-0.07, 0.42, 0], [0, 0.58, 0.04],
    [0.17, 0.45, -0.01], [-0.17, 0.45, -0.01], [0.43, 0.44, -0.03], [-0.43, 0.44, -0.03],
    [0.68, 0.45, -0.03], [-0.68, 0.45, -0.03], [0.76, 0.44, -0.04], [-0.76, 0.44, -0.04],
], dtype=torch.float64)


def joints(name: str) -> np.ndarray:
    pose = torch.from_numpy(library_pose(name)).double().reshape(24, 3)
    _, j = forward_kinematics(axis_angle_to_matrix(pose), REST, torch.zeros(3, dtype=torch.float64))
    return j.numpy()


def angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    u, v = a - b, c - b
    return float(np.degrees(np.arccos(u @ v / np.linalg.norm(u) / np.linalg.norm(v))))


def test_every_pose_is_valid_and_distinct():
    poses = np.stack([library_pose(n) for n in POSE_NAMES])
    assert poses.shape == (len(POSE_NAMES), 72) and np.isfinite(poses).all()
    assert len({p.tobytes() for p in poses}) == len(POSE_NAMES)
    assert np.array_equal(library_pose("T-pose"), library_pose("t_pose")) and not library_pose("t pose").any()


def test_poses_look_right_under_fk():
    j = joints("standing")
    assert j[20, 1] < j[16, 1] - 0.4 and j[21, 1] < j[17, 1] - 0.4          # wrists well below shoulders
    assert j[20, 0] > 0.1 and j[21, 0] < -0.1                              # left arm on the left
    j = joints("arms_up")
    assert j[20, 1] > j[15, 1] and j[21, 1] > j[15, 1]                     # wrists above the head
    j = joints("a_pose")
    assert j[16, 1] - 0.45 < j[20, 1] < j[16, 1] - 0.25                    # arms 45 degrees down
    j = joints("arms_forward")
    assert j[20, 2] > 0.4 and j[21, 2] > 0.4 and abs(j[20, 1] - j[16, 1]) < 0.05
    j = joints("sitting")
    for hip, knee, ankle in ((1, 4, 7), (2, 5, 8)):
        assert 80 < angle(j[hip], j[knee], j[ankle]) < 100                  # knees bent ~90 degrees
        assert j[knee, 2] > 0.3 and abs(j[knee, 1] - j[hip, 1]) < 0.05       # thighs forward, level
    j = joints("squat")
    assert angle(j[1], j[4], j[7]) < 80 and j[7, 1] < j[4, 1] < j[0, 1] + 0.1
    j = joints("hands_on_hips")
    for wrist, elbow, side in ((20, 18, 1), (21, 19, -1)):
        assert abs(j[wrist, 1] - j[0, 1]) < 0.1 and 0.08 < side * j[wrist, 0] < 0.25   # hands at the pelvis sides
        assert side * j[elbow, 0] > side * j[wrist, 0] + 0.1                            # elbows out
    j = joints("lunge")
    assert j[7, 2] > 0.3 and j[8, 2] < -0.2                                # left foot forward, right back
    assert 70 < angle(j[1], j[4], j[7]) < 110


def test_keyframe_from_motion_and_library(tmp_path):
    poses = np.random.default_rng(0).normal(0, 0.2, (5, 72)).astype(np.float32)
    trans = np.arange(15, dtype=np.float32).reshape(5, 3)
    path = tmp_path / "motion.npz"
    np.savez(path, poses=poses, trans=trans, betas=np.zeros(10), fps=30.0)
    kf = load_keyframe(path, time=2.5, frame=3)
    np.testing.assert_array_equal(kf.pose, poses[3])
    np.testing.assert_array_equal(kf.trans, trans[3])
    assert kf.time == 2.5 and kf.betas.shape == (10,)
    lib = load_keyframe("library:sitting", time=1.0)
    assert lib.trans is None and np.array_equal(lib.pose, library_pose("sitting"))
    assert np.array_equal(load_keyframe("arms_up", time=0).pose, library_pose("arms_up"))


def test_bad_keyframes(tmp_path):
    path = tmp_path / "m.npz"
    np.savez(path, poses=np.zeros((4, 72)), trans=np.zeros((4, 3)))
    with pytest.raises(ConditionError, match="frame 4 is out of range"):
        load_keyframe(path, time=0, frame=4)
    np.savez(path, poses=np.zeros((4, 69)), trans=np.zeros((4, 3)))
    with pytest.raises(ConditionError, match=r"'poses' must have shape \(N, 72\)"):
        load_keyframe(path, time=0)
    np.savez(path, poses=np.zeros((4, 72)), trans=np.zeros((3, 3)))
    with pytest.raises(ConditionError, match="'trans'"):
        load_keyframe(path, time=0)
    with pytest.raises(ConditionError, match="unknown library pose 'moonwalk'"):
        load_keyframe("library:moonwalk", time=0)
    with pytest.raises(ConditionError, match="not found"):
        load_keyframe(tmp_path / "nope.npz", time=0)
    with pytest.raises(ConditionError, match="time"):
        load_keyframe("library:t_pose", time=-1)
