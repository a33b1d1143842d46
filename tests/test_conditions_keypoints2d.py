"""2D keypoints npz: validation, resampling, the model's normalisation; camera rotation helpers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genmo.body.rotations import axis_angle_to_matrix, matrix_to_rot6d
from genmo.conditions import ConditionError
from genmo.conditions.camera_motion import (
    IDENTITY_6D,
    angvel_from_rotations,
    rot6d_np,
    rotations_from_angvel,
)
from genmo.conditions.keypoints2d import (
    VideoObservation,
    bbox_feature,
    bbox_xys_from_keypoints,
    bbox_xys_from_xyxy,
    condition_arrays,
    default_focal,
    load_keypoints2d,
    normalize_kp2d,
    resample_observation,
    save_keypoints2d,
)


def _walker(t: int = 20, conf: float = 0.9) -> np.ndarray:
    rng = np.random.default_rng(0)
    base = np.stack([np.linspace(300, 340, 17), np.linspace(100, 400, 17)], axis=-1)
    xy = base[None] + np.arange(t)[:, None, None] * np.array([5.0, 0.0]) + rng.normal(0, 1, (t, 17, 2))
    return np.concatenate([xy, np.full((t, 17, 1), conf)], axis=-1).astype(np.float32)


def test_bbox_from_keypoints_fits_aspect_and_enlarges():
    kp = np.zeros((17, 3), np.float32)
    kp[:, 0] = np.linspace(100, 160, 17)   # 60 wide
    kp[:, 1] = np.linspace(50, 350, 17)    # 300 tall -> height dominates
    kp[:, 2] = 1
    cx, cy, size = bbox_xys_from_keypoints(kp)
    assert (cx, cy) == pytest.approx((130, 200)) and size == pytest.approx(300 * 1.2)
    kp[8, :2] = (-1000, -1000)
    kp[8, 2] = 0  # an unseen joint does not stretch the box
    assert bbox_xys_from_keypoints(kp)[2] == pytest.approx(size)
    wide = bbox_xys_from_xyxy(np.array([0, 0, 400, 100]))
    assert wide[2] == pytest.approx(400 / (192 / 256) * 1.2)


def test_normalize_kp2d_and_bbox_feature():
    bbx = np.array([200.0, 100.0, 50.0], np.float32)
    kp = np.zeros((17, 3), np.float32)
    kp[:, 2] = 0.8
    kp[0, :2] = (200, 100)      # centre -> (0, 0)
    kp[1, :2] = (225, 75)       # corner -> (1, -1)
    kp[2, :2] = (260, 100)      # outside -> conf 0
    out = normalize_kp2d(kp, bbx)
    np.testing.assert_allclose(out[0, :2], [0, 0])
    np.testing.assert_allclose(out[1, :2], [1, -1])
    assert out[1, 2] == pytest.approx(0.8) and out[2, 2] == 0 and out[2, 0] == pytest.approx(2.4)
    feat = bbox_feature(bbx, 500.0, (400, 300))
    np.testing.assert_allclose(feat, [0.0, -50 / 500, 50 / 500], atol=1e-7)


def test_rot6d_matches_body_rotations_and_angvel_roundtrip():
    aa = torch.tensor([[0.0, 0.02, 0.0], [0.01, 0.03, -0.02], [0.0, 0.0, 0.05]], dtype=torch.float64)
    steps = axis_angle_to_matrix(aa).numpy()
    np.testing.assert_allclose(rot6d_np(steps), matrix_to_rot6d(torch.from_numpy(steps)).numpy(), atol=1e-7)
    rots = [np.eye(3)]
    for s in steps:
        rots.append(s @ rots[-1])
    angvel = angvel_from_rotations(np.stack(rots))
    np.testing.assert_allclose(angvel[:3], rot6d_np(steps), atol=1e-6)
    np.testing.assert_allclose(angvel[3], angvel[2])
    np.testing.assert_allclose(rotations_from_angvel(angvel)[:4], np.stack(rots), atol=1e-6)
    np.testing.assert_allclose(angvel_from_rotations(np.repeat(np.eye(3)[None], 5, 0)), np.tile(IDENTITY_6D, (5, 1)))


def test_save_load_roundtrip_and_defaults(tmp_path):
    kp = _walker()
    path = tmp_path / "kp.npz"
    np.savez(path, keypoints=kp, image_size=np.array([640, 480]))
    obs = load_keypoints2d(path)
    assert obs.fps == 30 and obs.focal == default_focal((640, 480)) == 640 and not obs.focal_known
    assert not obs.cam_angvel_known and np.allclose(obs.cam_angvel, IDENTITY_6D)
    assert obs.person_found.all() and obs.bbox.shape == (20, 4)
    assert (obs.bbox[:, 0] <= kp[:, :, 0].min(1) + 1e-4).all()
    obs.focal, obs.focal_known = 800.0, True
    save_keypoints2d(tmp_path / "again.npz", obs)
    back = load_keypoints2d(tmp_path / "again.npz")
    np.testing.assert_allclose(back.keypoints, obs.keypoints)
    assert back.focal == 800.0 and back.focal_known
    arrays = condition_arrays(back)
    assert arrays["kp2d"].shape == (20, 17, 3) and np.abs(arrays["kp2d"][..., :2]).max() <= 1.0
    assert arrays["bbox_feature"].shape == (20, 3) and arrays["cam_angvel"].shape == (20, 6)


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"keypoints": np.zeros((10, 18, 3)), "image_size": np.array([640, 480])}, r"'keypoints' must have shape \(T, 17, 3\)"),
        ({"keypoints": np.zeros((10, 17, 2)), "image_size": np.array([640, 480])}, "'keypoints'"),
        ({"keypoints": _walker(), "image_size": np.array([640, 480, 3])}, r"'image_size' must have shape \(2,\)"),
        ({"keypoints": _walker(), "image_size": np.array([640, 480]), "bbox": np.zeros((5, 4))}, r"'bbox' must have shape \(20, 4\)"),
        ({"keypoints": _walker(), "image_size": np.array([640, 480]), "fps": np.array([30, 25])}, "'fps' must be one positive"),
        ({"keypoints": _walker(), "image_size": np.array([0, 480])}, "'image_size' must be positive"),
        ({"keypoints": _walker(conf=0.0), "image_size": np.array([640, 480])}, "no person"),
        ({"image_size": np.array([640, 480])}, "missing 'keypoints'"),
        ({"keypoints": np.full((3, 17, 3), np.nan), "image_size": np.array([640, 480])}, "NaN"),
    ],
)
def test_bad_files_name_the_key(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ConditionError, match=message):
        load_keypoints2d(path)


def test_object_arrays_and_garbage_rejected(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, keypoints=np.array([{"a": 1}], dtype=object), image_size=np.array([1, 1]))
    with pytest.raises(ConditionError, match="bad pickled.npz|pickled.npz"):
        load_keypoints2d(path)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ConditionError, match="junk.npz"):
        load_keypoints2d(junk)


def test_resample_10_to_30_fps():
    kp = _walker(t=10)
    kp[4, 3, 2] = 0.2
    found = np.ones(10, bool)
    found[7] = False
    steps = axis_angle_to_matrix(torch.tensor([0.0, 0.03, 0.0], dtype=torch.float64)).numpy()
    rots = [np.eye(3)]
    for _ in range(9):
        rots.append(steps @ rots[-1])
    obs = VideoObservation(kp, np.tile([0, 0, 10, 10], (10, 1)).astype(np.float32), 500.0, (640, 480),
                           angvel_from_rotations(np.stack(rots)), 10.0, found, cam_angvel_known=True)
    out = resample_observation(obs, 30.0)
    assert out.num_frames == 30 and out.fps == 30
    np.testing.assert_allclose(out.keypoints[::3], kp, atol=1e-4)
    np.testing.assert_allclose(out.keypoints[1, :, :2], kp[0, :, :2] * 2 / 3 + kp[1, :, :2] / 3, atol=1e-3)
    assert out.interpolated[1] and out.interpolated[2] and not out.interpolated[3]
    assert out.keypoints[13, 3, 2] == pytest.approx(0.2) and out.keypoints[11, 3, 2] == pytest.approx(0.2)
    assert not out.person_found[21] and not out.person_found[20] and out.person_found[24]
    # a constant 0.03 rad/frame at 10 fps becomes 0.01 rad/frame at 30 fps
    angle = np.arccos((np.trace(rotations_from_angvel(out.cam_angvel[:1])[0] @ np.eye(3)) - 1) / 2)
    step = rotations_from_angvel(out.cam_angvel)[1]
    assert np.arccos((np.trace(step) - 1) / 2) == pytest.approx(0.01, rel=1e-3) and angle == pytest.approx(0)
