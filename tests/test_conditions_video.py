"""Video and images -> VideoObservation on real media (../shared/data/media), and bad video input."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from genmo.conditions import ConditionError
from genmo.conditions.camera_motion import IDENTITY_6D, estimate_camera_rotations
from genmo.conditions.video import extract_video
from genmo.paths import data_root

MEDIA = (data_root() / "media") if data_root() is not None else Path("/nonexistent")
needs_media = pytest.mark.skipif(not (MEDIA / "vtest.avi").is_file(), reason="needs ../shared/data/media")


def _rotation_error_deg(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip((np.trace(a @ b.T) - 1) / 2, -1, 1))))


@needs_media
def test_camera_rotation_of_a_turning_camera():
    image = cv2.imread(str(MEDIA / "messi5.jpg"))
    h, w = image.shape[:2]
    f = float(max(w, h))
    k = np.array([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1]])
    step, _ = cv2.Rodrigues(np.array([0.2, 1.0, 0.1]) / np.linalg.norm([0.2, 1.0, 0.1]) * np.radians(1.5))
    truth, frames, rot = [], [], np.eye(3)
    for _ in range(6):
        frames.append(cv2.warpPerspective(image, k @ rot @ np.linalg.inv(k), (w, h)))
        truth.append(rot)
        rot = step @ rot
    est = estimate_camera_rotations(frames, f, (w, h))
    assert max(_rotation_error_deg(a, b) for a, b in zip(est, truth)) < 0.25
    static = estimate_camera_rotations([image] * 3, f, (w, h))
    np.testing.assert_allclose(static, np.repeat(np.eye(3)[None], 3, 0), atol=1e-9)


@needs_media
@pytest.mark.slow
@pytest.mark.parametrize("name", ["messi5.jpg", "basketball1.png"])
def test_single_person_images(name):
    obs = extract_video(MEDIA / name)
    image = cv2.imread(str(MEDIA / name))
    assert obs.num_frames == 1 and obs.person_found.all() and obs.image_size == (image.shape[1], image.shape[0])
    kp = obs.keypoints[0]
    assert (kp[:, 2] > 0.5).sum() >= 15
    nose, ankles, shoulders, hips = kp[0], kp[15:17], kp[5:7], kp[11:13]
    assert nose[1] < shoulders[:, 1].min() < hips[:, 1].min() < ankles[:, 1].min()
    x0, y0, x1, y1 = obs.bbox[0]
    assert x0 <= kp[:, 0].min() and kp[:, 0].max() <= x1 and y0 <= kp[:, 1].min() and kp[:, 1].max() <= y1
    assert y1 - y0 > 0.5 * image.shape[0]
    assert obs.focal == max(obs.image_size)


@needs_media
@pytest.mark.slow
def test_vtest_clip_tracks_a_small_walker_at_30_fps():
    progress: list[tuple[int, int]] = []
    timings: dict[str, float] = {}
    obs = extract_video(MEDIA / "vtest.avi", fps=30.0, offset=1.0, duration=3.0,
                        progress=lambda done, total: progress.append((done, total)), timings=timings)
    assert obs.fps == 30 and obs.num_frames == 90 and obs.image_size == (768, 576)
    assert progress[-1] == (30, 30) and len(progress) == 30
    assert obs.person_found.mean() > 0.8
    assert obs.interpolated.sum() == 60
    seen = obs.keypoints[obs.person_found]
    assert (seen[..., 2] > 0.5).sum(-1).min() >= 8
    heights = obs.bbox[:, 3] - obs.bbox[:, 1]
    assert 50 < np.median(heights) < 200                                   # people are about 80-100 px
    centres = (obs.bbox[:, :2] + obs.bbox[:, 2:]) / 2
    assert np.abs(np.diff(centres, axis=0)).max() < 25                     # one identity, no jumps
    np.testing.assert_allclose(obs.cam_angvel, np.tile(IDENTITY_6D, (90, 1)), atol=1e-3)   # static camera
    assert timings["pose"] > 0 and timings["vo"] > 0


def test_video_without_a_person(tmp_path):
    path = tmp_path / "empty.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 240))
    rng = np.random.default_rng(0)
    for i in range(6):
        frame = np.full((240, 320, 3), 90, np.uint8)
        cv2.rectangle(frame, (20 + 10 * i, 40), (120 + 10 * i, 140), (30, 160, 200), -1)
        writer.write(cv2.GaussianBlur(frame + rng.integers(0, 20, frame.shape, dtype=np.uint8), (5, 5), 0))
    writer.release()
    with pytest.raises(ConditionError, match="no person found in empty.avi"):
        extract_video(path)


def test_corrupt_and_missing_videos(tmp_path):
    bad = tmp_path / "clip.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    with pytest.raises(ConditionError, match="clip.mp4"):
        extract_video(bad)
    with pytest.raises(ConditionError, match="not found"):
        extract_video(tmp_path / "missing.mp4")
    img = tmp_path / "broken.png"
    img.write_bytes(b"not a png")
    with pytest.raises(ConditionError, match="cannot decode image file broken.png"):
        extract_video(img)
