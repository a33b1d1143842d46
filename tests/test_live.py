"""The live estimator (genmo.live): the sliding window against the offline path, the bounded
window, dropped frames, recordings, and the Live tab's timeline helper."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from genmo.conditions.frontend import FrameObserver
from genmo.conditions.keypoints2d import load_keypoints2d, save_keypoints2d
from genmo.live import LIVE_OPTIONS, LiveSession, SlidingWindowEstimator
from genmo.pipeline import GenmoPipeline
from genmo.spec import spec_for_observation
from genmo.videofile import VideoReader

pytest.importorskip("mediapipe")
CLIP = Path(__file__).resolve().parent.parent / "examples" / "media" / "mannequin.mp4"
RATE = 15.0  # the frames are fed as a 15 fps stream


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    return list(VideoReader(CLIP, fallback=True).frames())


@pytest.fixture(scope="module")
def pipe() -> GenmoPipeline:
    return GenmoPipeline.tiny_random()


def test_window_estimate_equals_the_offline_estimate_of_the_same_frames(frames, pipe, tmp_path):
    """After a whole stream, the window's motion is the offline pipeline's estimate of the window's
    observation (a keypoints2d clip), to 1e-5 m on every joint."""
    est = SlidingWindowEstimator(pipe, window_s=2.0)
    for i, frame in enumerate(frames[:60]):
        est.add(frame, i / RATE)
    obs = est.window_observation()
    assert obs is not None and obs.fps == 30 and obs.num_frames == 62  # 31 frames (2 s at 15 fps) at 30 fps
    live = est.estimate(obs)
    save_keypoints2d(tmp_path / "window.npz", obs)
    offline = pipe(spec_for_observation("keypoints2d", tmp_path / "window.npz"), steps=1, guidance=1.0, seed=0)
    assert live.joints.shape == offline.motion.joints.shape
    np.testing.assert_allclose(live.joints, offline.motion.joints, atol=1e-5)
    est.close()


def test_window_keeps_the_same_observations_as_the_whole_stream(frames, pipe):
    """Trimming old frames changes nothing about the newest ones: the window's keypoints and camera
    motion equal the last frames of an observer that kept the whole stream."""
    est = SlidingWindowEstimator(pipe, window_s=1.0)
    whole = FrameObserver(RATE, LIVE_OPTIONS)
    for i, frame in enumerate(frames[:45]):
        est.add(frame, i / RATE)
        whole.add(frame)
    assert est._observer.num_frames <= 17  # bounded: 1 s at 15 fps (16 frames) and one before it
    full = whole.observation()
    window = est._observer.observation()
    n = window.num_frames
    np.testing.assert_array_equal(window.keypoints, full.keypoints[-n:])
    np.testing.assert_array_equal(window.person_found, full.person_found[-n:])
    np.testing.assert_allclose(window.cam_angvel[:-1], full.cam_angvel[-n:-1], atol=1e-6)
    whole.close()
    est.close()


def test_recording_outlives_the_window_and_loads_as_a_keypoints_clip(frames, pipe, tmp_path):
    est = SlidingWindowEstimator(pipe, window_s=0.5)
    for i, frame in enumerate(frames[:5]):
        est.add(frame, i / RATE)
    est.record()
    for i, frame in enumerate(frames[5:50], start=5):
        est.add(frame, i / RATE)
    assert est._observer.num_frames == 46  # the recording keeps its frames, the window alone would keep 8
    obs = est.stop_recording()
    assert not est.recording and est._observer.num_frames <= 9
    assert abs(obs.num_frames / obs.fps - 46 / RATE) < 0.1
    save_keypoints2d(tmp_path / "rec.npz", obs)
    loaded = load_keypoints2d(tmp_path / "rec.npz")
    assert loaded.num_frames == obs.num_frames and loaded.person_found.any()
    est.close()


def test_live_session_drops_frames_instead_of_queueing(frames, pipe):
    session = LiveSession(pipe, window_s=1.0, render_size=(96, 72))
    try:
        for frame in frames[:40]:
            session.push(frame)  # far faster than a frame can be estimated
        deadline = time.monotonic() + 60
        while session.latest is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert session.error is None
        result = session.latest
        assert result is not None and result.body.shape == (72, 96, 3) and result.overlay.shape == (240, 320, 3)
        assert session.dropped >= 30  # at most one frame waits; the rest were dropped
        assert session.estimator._observer.num_frames < 10
    finally:
        session.close()


def test_a_sparse_stream_finds_the_person_again_after_losing_the_track(frames):
    """A busy server estimates every 6th frame of the looping clip: the track used to shrink onto a
    patch that BlazePose found nothing in and never let go (no person in the second half); a track
    lost for LOST_FORGET pose frames is now forgotten and the person is found again."""
    observer = FrameObserver(RATE, LIVE_OPTIONS)
    try:
        found = [observer.add(frame) is not None for frame in (frames * 3)[::6]]
    finally:
        observer.close()
    second_half = found[len(found) // 2:]
    assert sum(second_half) >= len(second_half) // 3, found


def test_add_recording_places_the_clip_after_the_observed_clips():
    from app.live import add_recording

    spec = {"version": 1, "fps": 30, "duration": 4.0,
            "tracks": [{"kind": "text", "start": 0.0, "end": 4.0, "text": "walk"},
                       {"kind": "video", "start": 0.0, "end": 3.0, "path": "a.mp4"}]}
    new, text = add_recording(spec, Path("/w/live/rec.npz"), 2.5)
    clip = new["tracks"][-1]
    assert clip == {"kind": "keypoints2d", "start": 3.0, "end": 5.5, "path": "/w/live/rec.npz", "offset": 0.0}
    assert new["duration"] == 5.5 and len(spec["tracks"]) == 2 and "3.0 s" in text
    full = {**spec, "duration": 60.0, "tracks": [{"kind": "keypoints2d", "start": 0.0, "end": 60.0, "path": "b.npz"}]}
    same, text = add_recording(full, Path("/w/live/rec.npz"), 2.0)
    assert same == full and "No room" in text
