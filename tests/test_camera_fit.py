"""The overlay's camera translation, fitted to 2D keypoints (genmo.motion.camera_fit)."""

from __future__ import annotations

import numpy as np
import torch

from genmo.body import load_body
from genmo.body.coco import coco17_from_smpl
from genmo.motion.camera_fit import fit_camera_translation


def _scene(n: int = 6):
    body = load_body()
    poses = np.zeros((n, 72), np.float32)
    poses[:, 50] = np.linspace(0.0, 1.0, n)  # an arm moves
    with torch.no_grad():
        joints = body(torch.from_numpy(poses), None, torch.zeros(n, 3), with_vertices=False).joints.numpy()
    cam_r = np.repeat(np.diag([1.0, -1.0, -1.0])[None], n, 0)  # looking down -Z, y down
    cam_t = np.tile([0.3, 0.9, 4.0], (n, 1)) + np.linspace(0, 0.2, n)[:, None]
    focal, principal = 500.0, (320.0, 240.0)
    pts = np.einsum("tab,tkb->tka", cam_r, coco17_from_smpl(joints)) + cam_t[:, None]
    uv = pts[..., :2] / pts[..., 2:] * focal + principal
    keypoints = np.concatenate([uv, np.ones((n, 17, 1))], -1)
    return joints, cam_r, cam_t, keypoints, focal, principal


def test_the_true_translation_is_recovered_from_a_wrong_one():
    joints, cam_r, cam_t, keypoints, focal, principal = _scene()
    wrong = cam_t + np.array([0.8, -1.2, -2.5])  # beside, above and too close: drawn too high and too large
    fitted = fit_camera_translation(joints, cam_r, wrong, keypoints, focal, principal)
    np.testing.assert_allclose(fitted, cam_t, atol=0.03)


def test_frames_without_keypoints_take_their_neighbours_translation():
    joints, cam_r, cam_t, keypoints, focal, principal = _scene()
    keypoints[2:4, :, 2] = 0.0  # nobody detected
    fitted = fit_camera_translation(joints, cam_r, cam_t + 1.0, keypoints, focal, principal)
    assert np.isfinite(fitted).all()
    np.testing.assert_allclose(fitted[2], cam_t[1] + (cam_t[4] - cam_t[1]) / 3, atol=0.05)
    keypoints[:, :, 2] = 0.0
    np.testing.assert_allclose(fit_camera_translation(joints, cam_r, cam_t, keypoints, focal, principal), cam_t, atol=1e-6)
