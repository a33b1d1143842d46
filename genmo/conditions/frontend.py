"""The per-frame video front end: follow one person through frames fed in order, and build its
VideoObservation. Used by the video file extractor (genmo.conditions.video) and the live webcam
estimator (genmo.live).

Per source frame: find/track the main person (HOG on the first frame and while the track is lost;
in between the box follows the previous keypoints; the whole frame when HOG finds nobody and the
track stays lost; a track lost for LOST_FORGET pose frames is forgotten, so a person who moved far
while frames were dropped is found anew), BlazePose on a crop around the box, and the camera rotation
from the previous camera frame (ORB, the person masked out). The levers of ``FrontEndOptions`` trade
accuracy for speed:

- ``pose_fps``: BlazePose runs on about this many frames a second; the frames between are
  missing observations (person_found False) that the model in-fills.
- ``camera_fps``: the camera rotation is measured at about this rate and slerped between.
- ``detect_when_lost``: HOG only while the track is lost, on every LOST_DETECT_EVERY-th frame
  (else on every lost frame and every DETECT_EVERY frames).
- ``pose_tracking``: BlazePose's video mode (its own detector only when it loses the person).
- ``threaded``: the camera rotation runs in a worker thread next to the pose of the next frame.

docs/performance.md has each lever's cost and accuracy. The main person is the largest HOG
detection of the first frame that has one; a frame whose pose is missing or jumps away from the
track is reported lost (person_found False, confidences 0).
"""

from __future__ import annotations

import math
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from genmo.conditions.camera_motion import CameraRotationTracker, angvel_from_rotations
from genmo.conditions.observation import VideoObservation, default_focal
from genmo.conditions.pose2d import VISIBLE_CONF, PoseEstimator, detect_people

DETECT_EVERY = 10          # without tracking, HOG runs on every n-th frame (and whenever the track is lost)
TRACK_GATE = 0.6           # a new box centre may move this many box heights per frame from the track
BOX_MARGIN = 0.1           # reported boxes = visible keypoint extent grown by this fraction per side
LOST_DETECT_EVERY = 4     # while nobody is tracked, HOG runs on every n-th pose frame (BlazePose on the others)
LOST_WHOLE_FRAME = 2      # after this many lost pose frames without a detection, BlazePose sees the whole frame
LOST_FORGET = 6           # after this many lost pose frames the track is forgotten (the next person found restarts it)
MAX_PENDING_CAMERA = 8     # camera steps queued for the worker thread before the caller waits


@dataclass(frozen=True)
class FrontEndOptions:
    """Speed levers of the front end (module docstring); None rates mean every frame."""

    pose_fps: float | None = 15.0
    camera_fps: float | None = 10.0
    detect_when_lost: bool = True
    pose_tracking: bool = False
    threaded: bool = False  # measured slower on the loaded 2-core machine (docs/performance.md)

    @staticmethod
    def runs_on(rate: float | None, src_fps: float, t: int) -> bool:
        """Whether a stage running at ``rate`` per second runs on source frame ``t``: on every frame when
        the rate is None or at least ``src_fps``, else on the frames where floor(t * rate / src_fps)
        steps up (15 Hz of 30 fps: every 2nd frame; 20 Hz: 2 frames of 3)."""
        if rate is None or rate <= 0 or rate >= src_fps or t <= 0:
            return True
        step = rate / src_fps
        return math.floor(t * step + 1e-9) != math.floor((t - 1) * step + 1e-9)


EVERY_FRAME = FrontEndOptions(pose_fps=None, camera_fps=None, detect_when_lost=False, pose_tracking=False,
                              threaded=False)
FAST = FrontEndOptions()


def _box_from_keypoints(kp: np.ndarray) -> np.ndarray:
    seen = kp[:, 2] > VISIBLE_CONF
    pts = kp[seen, :2] if seen.sum() >= 2 else kp[:, :2]
    lo, hi = pts.min(0), pts.max(0)
    pad = (hi - lo) * BOX_MARGIN + 2.0
    return np.concatenate([lo - pad, hi + pad]).astype(np.float32)


def _centre(box: np.ndarray) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])


def _height(box: np.ndarray) -> float:
    return float(max(box[3] - box[1], box[2] - box[0], 1.0))


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class PersonTracker:
    """Keeps one identity: matches detections and poses to the last box by IoU and centre distance."""

    def __init__(self) -> None:
        self.box: np.ndarray | None = None
        self.lost = 0

    def gate(self) -> float:
        assert self.box is not None
        return _height(self.box) * TRACK_GATE * min(1 + self.lost, 4)

    def pick(self, boxes: np.ndarray, scores: np.ndarray) -> np.ndarray | None:
        """The detection that continues the track (or, before the track starts, the largest one)."""
        if len(boxes) == 0:
            return None
        if self.box is None:
            areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
            return boxes[int(np.argmax(areas * np.clip(scores, 0.1, None)))]
        ious = np.array([_iou(self.box, b) for b in boxes])
        dists = np.linalg.norm(np.array([_centre(b) for b in boxes]) - _centre(self.box), axis=1)
        best = int(np.argmax(ious))
        if ious[best] > 0.3:
            return boxes[best]
        near = int(np.argmin(dists))
        return boxes[near] if dists[near] < self.gate() else None

    def forget(self) -> None:
        """Drop the track (its box may have shrunk onto a wrong patch): the next pose found starts it anew."""
        self.box, self.lost = None, 0

    def accept(self, kp: np.ndarray | None) -> bool:
        """Take a pose into the track if it is near it; returns whether the person was found."""
        if kp is None:
            self.lost += 1
            return False
        box = _box_from_keypoints(kp)
        if self.box is not None and np.linalg.norm(_centre(box) - _centre(self.box)) > self.gate():
            self.lost += 1
            return False
        self.box, self.lost = box, 0
        return True


class FrameObserver:
    """Feed BGR frames in order with ``add``; ``observation()`` is what was seen so far.

    ``clock`` holds the seconds spent per stage ('detect', 'pose', 'vo'; 'vo' is the worker's time
    when threaded). Close it (or use it as a context manager) to free BlazePose and the worker.
    """

    def __init__(self, src_fps: float, options: FrontEndOptions = FAST, focal: float | None = None) -> None:
        self.options = options
        self.src_fps = float(src_fps)
        self.focal = focal
        self.clock = {"detect": 0.0, "pose": 0.0, "vo": 0.0}
        self.image_size: tuple[int, int] | None = None
        self._tracker = PersonTracker()
        self._estimator = PoseEstimator(tracking=options.pose_tracking)
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="genmo-camera") if options.threaded else None
        self._camera: CameraRotationTracker | None = None
        self._keypoints: list[np.ndarray] = []
        self._boxes: list[np.ndarray] = []
        self._found: list[bool] = []
        self._steps: list[tuple[int, Future | np.ndarray]] = []  # (frame, rotation from the previous camera frame)
        self._offset = 0  # frames forgotten by trim
        self._misses = 0  # pose frames in a row without a tracked person

    @property
    def num_frames(self) -> int:
        return len(self._keypoints)

    def add(self, frame: np.ndarray) -> np.ndarray | None:
        """Observe the next frame; returns the person's keypoints (17, 3) when posed and found, else None."""
        t = len(self._keypoints) + self._offset
        if self.image_size is None:
            self.image_size = (int(frame.shape[1]), int(frame.shape[0]))
            self.focal = float(self.focal) if self.focal is not None else default_focal(self.image_size)
            self._camera = CameraRotationTracker(self.focal, self.image_size)
        kp = None
        options = self.options
        if options.runs_on(options.pose_fps, self.src_fps, t):
            kp = self._pose(frame, t)
            if not self._tracker.accept(kp):
                kp = None
        self._keypoints.append(kp if kp is not None else np.zeros((17, 3), np.float32))
        box = self._tracker.box
        self._boxes.append(box if box is not None else np.full(4, np.nan, np.float32))
        self._found.append(kp is not None)
        if options.runs_on(options.camera_fps, self.src_fps, t):
            self._camera_step(t, frame, None if box is None else box.copy())
        return kp

    def _pose(self, frame: np.ndarray, t: int) -> np.ndarray | None:
        tracker = self._tracker
        if tracker.box is not None and tracker.lost >= LOST_FORGET:
            tracker.forget()  # e.g. frames dropped by a busy live server: the person moved far from the old box
            self._estimator.reset()
        box = tracker.box
        periodic = not self.options.detect_when_lost and t % DETECT_EVERY == 0
        searching = box is None or tracker.lost > 0
        if searching:
            self._misses += 1
        else:
            self._misses = 0
        every = LOST_DETECT_EVERY if self.options.detect_when_lost else 1
        if periodic or (searching and (self._misses - 1) % every == 0):
            t0 = time.perf_counter()
            dets, scores = detect_people(frame)
            self.clock["detect"] += time.perf_counter() - t0
            picked = tracker.pick(dets, scores)
            if picked is not None:
                if tracker.box is None or tracker.lost > 0:
                    self._estimator.reset()  # a new crop: BlazePose's own track would follow the old one
                box = picked
            elif tracker.lost >= LOST_WHOLE_FRAME:
                box = None  # the old box keeps failing and HOG sees nobody: try the whole frame
        elif searching and tracker.lost >= LOST_WHOLE_FRAME:
            box = None
        t0 = time.perf_counter()
        kp = self._estimator.estimate(frame, box)  # no box (nobody detected, no track): the whole frame
        self.clock["pose"] += time.perf_counter() - t0
        return kp

    def _camera_step(self, t: int, frame: np.ndarray, box: np.ndarray | None) -> None:
        camera = self._camera
        assert camera is not None

        def step() -> np.ndarray:
            t0 = time.perf_counter()
            rot = camera.step(frame, box)
            self.clock["vo"] += time.perf_counter() - t0
            return rot

        if self._worker is None:
            self._steps.append((t, step()))
            return
        pending = [f for _, f in self._steps[-MAX_PENDING_CAMERA:] if isinstance(f, Future) and not f.done()]
        if len(pending) >= MAX_PENDING_CAMERA:
            pending[0].result()  # bounded: never more than MAX_PENDING_CAMERA frames held for the worker
        self._steps.append((t, self._worker.submit(step)))

    def trim(self, count: int) -> None:
        """Forget the oldest ``count`` frames (a live stream keeps a bounded window); tracking goes on."""
        if count <= 0:
            return
        del self._keypoints[:count], self._boxes[:count], self._found[:count]
        self._offset += count
        keep = [i for i, (t, _) in enumerate(self._steps) if t >= self._offset]
        first = keep[0] - 1 if keep and keep[0] > 0 else (keep[0] if keep else len(self._steps) - 1)
        self._steps = self._steps[max(first, 0):]  # one camera frame before the window anchors its slerp

    def rotations(self, first: int = 0) -> np.ndarray:
        """World-to-camera rotations (T - first, 3, 3) of the frames from ``first`` on (R = I at the first
        camera frame kept), slerped between camera frames and held after the last one."""
        n = self.num_frames - first
        frames, rots, current = [], [], np.eye(3)
        for t, step in self._steps:
            current = (step.result() if isinstance(step, Future) else step) @ current
            frames.append(t - self._offset - first)
            rots.append(current)
        if frames and frames[0] == 0 and len(frames) == n:
            return np.stack(rots)
        from scipy.spatial.transform import Rotation, Slerp

        if len(frames) == 1:
            return np.repeat(rots[0][None], n, axis=0)
        times = np.clip(np.arange(n), frames[0], frames[-1])  # held outside the camera frames
        return Slerp(np.array(frames, float), Rotation.from_matrix(np.stack(rots)))(times).as_matrix()

    def observation(self, first: int = 0) -> VideoObservation | None:
        """The observation of the frames kept from ``first`` on, at the source rate (None before any
        frame or without a person in them)."""
        found = self._found[first:]
        if not found or not any(found):
            return None
        assert self.image_size is not None and self.focal is not None
        bbox = np.stack(self._boxes[first:])
        first_box = bbox[int(np.argmax(found))]
        bbox = np.where(np.isnan(bbox), first_box, bbox)  # frames before the person appeared
        return VideoObservation(
            keypoints=np.stack(self._keypoints[first:]).astype(np.float32), bbox=bbox.astype(np.float32),
            focal=float(self.focal), image_size=self.image_size,
            cam_angvel=angvel_from_rotations(self.rotations(first)), fps=self.src_fps,
            person_found=np.array(found), focal_known=False, cam_angvel_known=len(found) > 1,
        )

    def close(self) -> None:
        if self._worker is not None:
            self._worker.shutdown(wait=True)
        self._estimator.close()

    def __enter__(self) -> "FrameObserver":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

