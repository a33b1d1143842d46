"""Live estimation from a stream of camera frames: a sliding window of the last few seconds, a
1-step estimation pass on it after every frame, and the body of the newest frame rendered.

``SlidingWindowEstimator`` is the estimation alone (frames in, Motion of the window out); its
window estimate is exactly what the offline pipeline gives for the same observation
(tests/test_live.py). ``LiveSession`` runs it in a worker thread fed by ``push``: only the newest
frame waits (older ones are dropped, never queued), and ``latest`` is the newest rendered result
with its latency and the sustained frame rate. ``record`` keeps the observation from now on;
``stop_recording`` returns it as a keypoints npz that a timeline's keypoints2d clip can use.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from genmo.conditions.frontend import FrameObserver, FrontEndOptions
from genmo.conditions.observation import VideoObservation, resample_observation
from genmo.constants import MODEL_FPS

LIVE_OPTIONS = FrontEndOptions(pose_fps=None, camera_fps=5.0, detect_when_lost=True, pose_tracking=True,
                               threaded=False)
WINDOW_S = 2.0           # seconds of context the estimation pass sees
MAX_RECORD_S = 60.0      # a recording stops by itself after this long
MIN_STREAM_FPS, MAX_STREAM_FPS = 1.0, 60.0
RENDER_SIZE = (320, 240)
FPS_WINDOW_S = 2.0       # the shown frame rate counts the results of the last this many seconds
COCO_EDGES = ((5, 7), (7, 9), (6, 8), (8, 10), (5, 6), (5, 11), (6, 12), (11, 12), (11, 13), (13, 15),
              (12, 14), (14, 16), (0, 5), (0, 6))


def estimate_observation(pipe: Any, obs: VideoObservation) -> Any:
    """The 1-step estimate (a Motion at MODEL_FPS) of an observation at MODEL_FPS, as the pipeline
    estimates a keypoints2d clip covering the whole timeline (guidance 1, seed 0)."""
    from genmo.conditions.builder import ConditionBuilder
    from genmo.conditions.keypoints2d import add_observation
    from genmo.motion.output import vectors_to_motion

    builder = ConditionBuilder(obs.num_frames)
    add_observation(builder, obs, 0)
    x = pipe.sample_batch(builder.build().batch, steps=1, guidance=1.0, seed=0)
    return vectors_to_motion(x[0], pipe.body, MODEL_FPS, has_camera=True)


class SlidingWindowEstimator:
    """Frames in order (``add`` with their capture time in seconds); ``estimate`` is the Motion of
    the last ``window_s`` seconds, resampled to MODEL_FPS by the frames' measured rate."""

    def __init__(self, pipe: Any, window_s: float = WINDOW_S, options: FrontEndOptions = LIVE_OPTIONS,
                 nominal_fps: float = 15.0) -> None:
        self.pipe = pipe
        self.window_s = float(window_s)
        self.nominal_fps = float(nominal_fps)
        self.options = options
        self._observer: FrameObserver | None = None
        self._times: collections.deque[float] = collections.deque()
        self._recording_from: int | None = None  # index into the observer's frames
        self.lock = threading.Lock()

    @property
    def recording(self) -> bool:
        return self._recording_from is not None

    def add(self, frame: np.ndarray, t: float) -> np.ndarray | None:
        """Observe a BGR frame captured at ``t`` seconds; returns its keypoints (17, 3) or None."""
        with self.lock:
            if self._observer is None:
                self._observer = FrameObserver(self.nominal_fps, self.options)
            kp = self._observer.add(frame)
            self._times.append(float(t))
            while self._recording_from is not None and t - self._times[self._recording_from] > MAX_RECORD_S:
                self._recording_from += 1  # a recording keeps its last MAX_RECORD_S seconds
            self._trim()
            return kp

    def _trim(self) -> None:
        """Drop frames older than the window that no recording needs."""
        assert self._observer is not None
        newest = self._times[-1]
        drop = 0
        while drop < len(self._times) - 2 and newest - self._times[drop + 1] >= self.window_s:
            drop += 1
        if self._recording_from is not None:
            drop = min(drop, self._recording_from)
            self._recording_from -= drop
        if drop:
            self._observer.trim(drop)
            for _ in range(drop):
                self._times.popleft()

    def rate(self, first: int = 0) -> float:
        """Frames per second measured from the capture times from frame ``first`` on (nominal before two frames)."""
        times = list(self._times)[first:]
        if len(times) < 2 or times[-1] <= times[0]:
            return self.nominal_fps
        return float(np.clip((len(times) - 1) / (times[-1] - times[0]), MIN_STREAM_FPS, MAX_STREAM_FPS))

    def _observation(self, first: int) -> VideoObservation | None:
        assert self._observer is not None
        obs = self._observer.observation(first)
        if obs is None:
            return None
        return resample_observation(replace(obs, fps=self.rate(first)), MODEL_FPS)

    def window_observation(self) -> VideoObservation | None:
        """The window's observation at MODEL_FPS (None before a person has been seen in it)."""
        with self.lock:
            if self._observer is None:
                return None
            newest = self._times[-1]
            first = next(i for i, t in enumerate(self._times) if newest - t < self.window_s)
            return self._observation(first)

    def estimate(self, obs: VideoObservation | None = None) -> Any:
        """The Motion of the window (or of ``obs``); None when nobody was seen."""
        obs = obs if obs is not None else self.window_observation()
        return None if obs is None else estimate_observation(self.pipe, obs)

    def record(self) -> None:
        """Keep every frame from the newest one on (up to MAX_RECORD_S) for ``stop_recording``."""
        with self.lock:
            self._recording_from = max(0, len(self._times) - 1)

    def stop_recording(self) -> VideoObservation | None:
        """The recorded observation at MODEL_FPS (None when nothing with a person was recorded)."""
        with self.lock:
            if self._recording_from is None or self._observer is None:
                self._recording_from = None
                return None
            first, self._recording_from = self._recording_from, None
            obs = self._observation(first)
            self._trim()
            return obs

    def close(self) -> None:
        with self.lock:
            if self._observer is not None:
                self._observer.close()
                self._observer = None


@dataclass
class LiveResult:
    """The newest rendered result: the body view and the 2D overlay (RGB uint8), the frame's
    latency (arrival to rendered, ms), the sustained rate of results (per second), dropped frames."""

    body: np.ndarray
    overlay: np.ndarray
    latency_ms: float
    fps: float
    dropped: int
    person: bool
    recording_s: float | None


def draw_keypoints(frame_bgr: np.ndarray, kp: np.ndarray | None) -> np.ndarray:
    """The frame (RGB) with the COCO-17 skeleton of ``kp`` drawn on it."""
    import cv2

    out = frame_bgr.copy()
    if kp is not None:
        seen = kp[:, 2] > 0.3
        thick = max(2, int(round(max(out.shape[:2]) / 240)))
        for a, b in COCO_EDGES:
            if seen[a] and seen[b]:
                cv2.line(out, tuple(int(v) for v in kp[a, :2]), tuple(int(v) for v in kp[b, :2]), (60, 200, 255), thick)
        for x, y, c in kp:
            if c > 0.3:
                cv2.circle(out, (int(x), int(y)), thick + 1, (40, 90, 255), -1)
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)


class LiveSession:
    """One camera stream: ``push`` frames from any thread, read ``latest``; a worker thread estimates
    and renders the newest frame only (frames arriving meanwhile replace it and count as dropped)."""

    def __init__(self, pipe: Any, window_s: float = WINDOW_S, render_size: tuple[int, int] = RENDER_SIZE) -> None:
        self.estimator = SlidingWindowEstimator(pipe, window_s)
        self.render_size = render_size
        self.dropped = 0
        self.completed = 0  # results produced
        self.latencies: collections.deque[float] = collections.deque(maxlen=300)  # ms, the newest results
        self.latest: LiveResult | None = None
        self.error: str | None = None
        self._slot: tuple[np.ndarray, float] | None = None
        self._wake = threading.Condition()
        self._stop = False
        self._done: collections.deque[float] = collections.deque()
        self._record_start: float | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="genmo-live")
        self._thread.start()

    def push(self, frame_bgr: np.ndarray, t: float | None = None) -> None:
        """Hand over the newest camera frame (BGR); a frame still waiting is dropped."""
        with self._wake:
            if self._slot is not None:
                self.dropped += 1
            self._slot = (frame_bgr, time.perf_counter() if t is None else t)
            self._wake.notify()

    def record(self) -> None:
        self.estimator.record()
        self._record_start = time.perf_counter()

    def stop_recording(self, path: Path) -> tuple[Path, float] | None:
        """Write the recording as a keypoints npz; returns (path, seconds) or None without a person."""
        from genmo.conditions.keypoints2d import save_keypoints2d

        self._record_start = None
        obs = self.estimator.stop_recording()
        if obs is None or not obs.person_found.any():
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        save_keypoints2d(path, obs)
        return path, obs.num_frames / obs.fps

    def close(self) -> None:
        with self._wake:
            self._stop = True
            self._wake.notify()
        self._thread.join(timeout=10)
        self.estimator.close()

    def _run(self) -> None:
        from genmo.render import BodyRenderer

        body = self.estimator.pipe.body
        renderer = BodyRenderer(body.faces, int(body.weights.shape[0]), *self.render_size, shadows=False)
        try:
            while True:
                with self._wake:
                    while self._slot is None and not self._stop:
                        self._wake.wait()
                    if self._stop:
                        return
                    (frame, arrived), self._slot = self._slot, None
                try:
                    self._step(frame, arrived, renderer)
                except Exception as err:  # a bad frame or a failed pass: shown on the page, the stream goes on
                    from genmo.errors import one_line

                    self.error = f"{type(err).__name__}: {one_line(err)}"
        finally:
            renderer.close()

    def _step(self, frame: np.ndarray, arrived: float, renderer: Any) -> None:
        kp = self.estimator.add(frame, arrived)
        motion = self.estimator.estimate()
        if motion is not None:
            body_view = self._render(motion, renderer)
        else:
            body_view = np.full((self.render_size[1], self.render_size[0], 3), 235, np.uint8)
        now = time.perf_counter()
        self._done.append(now)
        while self._done and now - self._done[0] > FPS_WINDOW_S:
            self._done.popleft()
        fps = (len(self._done) - 1) / (self._done[-1] - self._done[0]) if len(self._done) > 1 else 0.0
        self.completed += 1
        self.latencies.append((now - arrived) * 1000)
        self.latest = LiveResult(body=body_view, overlay=draw_keypoints(frame, kp),
                                 latency_ms=(now - arrived) * 1000, fps=fps, dropped=self.dropped,
                                 person=kp is not None,
                                 recording_s=None if self._record_start is None else now - self._record_start)
        self.error = None

    def _render(self, motion: Any, renderer: Any) -> np.ndarray:
        """The newest frame's body from a camera in front of it (the window's camera frame)."""
        from genmo.render import FollowView, follow_camera_poses
        from genmo.render.motion_video import motion_vertices

        last = {"poses": motion.poses[-1:], "trans": motion.trans[-1:], "betas": motion.betas}
        verts = next(motion_vertices(last, self.estimator.pipe.body))
        centre = motion.joints[-1:, 0] if motion.joints is not None else motion.trans[-1:]
        view = FollowView(distance=3.2)
        return renderer.render(verts, follow_camera_poses(centre, MODEL_FPS, view)[-1], view.yfov_deg)
