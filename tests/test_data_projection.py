"""2D observations: reprojection of known 3D points, camera conventions, noise/missing handling."""

from __future__ import annotations

import numpy as np

from genmo.data.clip import default_rest_joints
from genmo.body.coco import coco17_from_smpl
from genmo.data.projection import (camera_angvel, intrinsics, look_at, observe_2d, project,
                                   random_camera)


def _standing(t: int = 30) -> np.ndarray:
    rest = default_rest_joints()
    rest = rest - [0, rest[:, 1].min(), 0]
    return np.repeat(rest[None], t, 0) + np.linspace([0, 0, 0], [0, 0, 1.0], t)[:, None]


def test_project_known_points() -> None:
    k = intrinsics(500.0, 640, 480)
    r = np.eye(3)[None]
    t = np.array([[0.0, 0.0, 5.0]])
    pts = np.array([[[0.0, 0.0, 0.0], [1.0, -0.5, 0.0], [0.0, 0.0, 5.0]]])
    uv, depth = project(pts, r, t, k)
    np.testing.assert_allclose(uv[0, 0], [320, 240])
    np.testing.assert_allclose(uv[0, 1], [320 + 100, 240 - 50])
    np.testing.assert_allclose(uv[0, 2], [320, 240])
    np.testing.assert_allclose(depth[0], [5, 5, 10])


def test_look_at_opencv_axes() -> None:
    r = look_at(np.array([0.0, 1.0, 5.0]), np.array([0.0, 1.0, 0.0]))
    # Looking along -Z: camera z = world -Z, camera y (down) = world -Y, camera x (right) = world +X.
    np.testing.assert_allclose(r, [[1, 0, 0], [0, -1, 0], [0, 0, -1]], atol=1e-9)
    assert abs(np.linalg.det(r) - 1) < 1e-9


def test_reprojection_of_observation_matches_clean_points() -> None:
    rng = np.random.default_rng(0)
    joints = _standing()
    obs = observe_2d(joints, rng, noise_px=0.0, drop_prob=0.0)
    uv, depth = project(obs["points3d"].astype(np.float64), obs["cam_R"].astype(np.float64), obs["cam_t"].astype(np.float64),
                        obs["K"].astype(np.float64))
    vis = obs["keypoints"][..., 2] > 0
    assert vis.mean() > 0.8 and (depth > 0).all()
    np.testing.assert_allclose(obs["keypoints"][..., :2][vis], uv[vis], atol=1e-2)
    assert obs["keypoints"].shape == (30, 17, 3) and obs["bbox"].shape == (30, 4)
    box = obs["bbox"][0]
    assert box[0] < box[2] and box[1] < box[3]
    # Person upright in the image: the nose above (smaller y) the ankles.
    assert (obs["keypoints"][:, 0, 1] < obs["keypoints"][:, 15, 1]).all()


def test_face_points_in_front_of_head() -> None:
    joints = default_rest_joints()
    coco = coco17_from_smpl(joints)
    assert coco[0, 2] > joints[15, 2] + 0.05  # nose in front (+Z) of the head joint
    assert coco[1, 0] > coco[2, 0]  # left eye at +X (the person's left)
    np.testing.assert_allclose(coco[5], joints[16])


def test_static_and_moving_cameras_angvel() -> None:
    joints = _standing(40)
    found = {"static": False, "moving": False}
    for seed in range(20):
        cam = random_camera(joints, np.random.default_rng(seed))
        av = camera_angvel(cam["cam_R"].astype(np.float64))
        assert av.shape == (40, 6)
        static = np.allclose(av, [1, 0, 0, 0, 1, 0], atol=1e-6)
        found["static" if static else "moving"] = True
        np.testing.assert_allclose(cam["cam_R"] @ np.swapaxes(cam["cam_R"], -1, -2), np.broadcast_to(np.eye(3), (40, 3, 3)), atol=1e-5)
    assert all(found.values())


def test_noise_and_missing_joints() -> None:
    joints = _standing(60)
    obs = observe_2d(joints, np.random.default_rng(3), noise_px=3.0, drop_prob=0.3)
    conf = obs["keypoints"][..., 2]
    assert 0.4 < (conf > 0).mean() < 0.85
    assert (obs["keypoints"][conf == 0] == 0).all()
