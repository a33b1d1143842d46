"""Ground truth for the video path (genmo.eval.video_truth, scripts/video_accuracy.py): the camera, the
joint matching of the errors, the face marks, and a rendered figure that BlazePose finds where the
truth camera projects it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genmo.eval.video_truth import TruthView, facing, joint_errors, keypoint_error, truth_camera
from genmo.motion.synthetic import walking_motion


def _yaw(deg: float) -> np.ndarray:
    a = np.radians(deg)
    return np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])


@pytest.fixture(scope="module")
def walk() -> np.ndarray:
    return walking_motion(90, seed=1)["joints"].numpy().astype(np.float64)


def test_the_camera_stands_still_and_keeps_the_person_in_view(walk):
    camera = truth_camera(walk, TruthView(distance=4.0, azimuth_deg=0.0))
    eyes = -np.einsum("tba,tb->ta", camera.cam_R, camera.cam_t)  # camera centres: -R^T t
    assert np.allclose(eyes, eyes[0], atol=1e-4)
    assert camera.focal == 640.0 and camera.image_size == (640, 480)
    pixels = camera.pixels(walk)
    assert (pixels[..., 0] > 0).all() and (pixels[..., 0] < 640).all()
    assert (pixels[..., 1] > 0).all() and (pixels[..., 1] < 480).all()
    in_front = camera.joints(walk)[:, 0, 2]
    assert (in_front > 2.0).all()
    # azimuth 0 stands in front of the body's first facing direction
    assert np.dot(eyes[0] - walk[0, 0], facing(walk)) > 0


def test_errors_vanish_on_the_truth_and_separate_camera_from_pose(walk):
    camera = truth_camera(walk)
    exact = joint_errors(walk, camera.cam_R, camera.cam_t, walk, camera)
    assert max(exact.values()) < 1e-3
    # the same pose seen by a camera turned 15 degrees: the camera-frame error grows, PA-MPJPE does not
    turned = joint_errors(walk, _yaw(15) @ camera.cam_R, camera.cam_t, walk, camera)
    assert turned["mpjpe_mm"] > 30 and turned["pa_mpjpe_mm"] < 1e-3
    # a longer estimate is cut to the truth's frames; a raised arm is a pose error for both
    posed = walk.copy()
    posed[:, 20:22, 1] += 0.3
    longer = np.concatenate([posed, posed[-10:]])
    cam_r = np.concatenate([camera.cam_R, camera.cam_R[-10:]])
    cam_t = np.concatenate([camera.cam_t, camera.cam_t[-10:]])
    wrong = joint_errors(longer, cam_r, cam_t, walk, camera)
    assert wrong["mpjpe_mm"] > 10 and wrong["pa_mpjpe_mm"] > 5


def test_keypoint_error_sees_a_left_right_swap(walk):
    from genmo.body.coco import coco17_from_smpl

    camera = truth_camera(walk)
    seen = np.concatenate([camera.pixels(coco17_from_smpl(walk)), np.ones((len(walk), 17, 1))], axis=-1)
    found = np.ones(len(walk), bool)
    assert keypoint_error(seen, found, walk, camera) == pytest.approx({"found_pct": 100.0, "kp2d_err_pct": 0.0}, abs=1e-6)
    swapped = seen[:, [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]]
    half = found.copy()
    half[::2] = False
    error = keypoint_error(swapped, half, walk, camera)
    assert error["found_pct"] == pytest.approx(50.0, abs=1) and error["kp2d_err_pct"] > 5


def test_front_surface_is_the_nearest_hit_from_the_front():
    from genmo.eval.video_truth_render import front_surface

    square = np.array([[[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[1, 0, 0], [1, 1, 0], [0, 1, 0]]], np.float64)
    triangles = np.concatenate([square, square + [0, 0, 0.5]])
    assert front_surface(triangles, 0.7, 0.6) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="no surface"):
        front_surface(triangles, 1.5, 0.5)


@pytest.mark.slow
def test_blazepose_finds_the_rendered_figure_where_the_camera_projects_it(tmp_path):
    """The core of scripts/video_accuracy.py on a 1.5 s walk: render, estimate end to end, score."""
    pytest.importorskip("mediapipe")
    from genmo.body import load_body
    from genmo.body.kinematics import forward_kinematics
    from genmo.eval.common import GroundTruth
    from genmo.eval.video_truth import score_video
    from genmo.eval.video_truth_render import render_truth_video
    from genmo.pipeline import GenmoPipeline

    body = load_body()
    motion = walking_motion(45, seed=2)
    rest = body.rest_joints().float()
    _, joints = forward_kinematics(motion["local_rots"], rest, motion["root_pos"])
    gt = GroundTruth(motion["local_rots"].numpy(), motion["root_pos"].numpy(), joints.numpy())
    camera = truth_camera(gt.joints, TruthView(distance=3.5, azimuth_deg=20.0))
    video = render_truth_video(body, gt, camera, tmp_path / "walk.mp4")
    pipe = GenmoPipeline.tiny_random()
    with torch.no_grad():
        scores = score_video(pipe, video, gt.joints, camera, steps=1)
    assert scores["found_pct"] > 80
    assert scores["kp2d_err_pct"] < 8  # BlazePose's keypoints land on the projected truth (no left/right swap)
    assert np.isfinite([scores["mpjpe_mm"], scores["pa_mpjpe_mm"]]).all()
    assert pipe.video_options is None  # score_video puts the pipeline's options back
