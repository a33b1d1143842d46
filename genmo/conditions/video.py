"""Video (or a single image) -> VideoObservation of its main person, resampled to the motion frame rate.

Steps per source frame: decode (genmo.videofile: OpenCV, falling back to imageio-ffmpeg), find/track the main
person (HOG detections every DETECT_EVERY frames and whenever the track is lost; in between the
box follows the previous keypoints), BlazePose on an upscaled crop, and the camera rotation
from the previous frame (ORB, the person masked out). The main person is the largest HOG
detection of the first frame that has one; a frame whose pose is missing or jumps away from
the track is reported lost (person_found False, confidences 0).
Intrinsics: focal = max(w, h) pixels (about 53 degrees field of view) unless ``focal`` is
given; principal point at the image centre.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from genmo.conditions.camera_motion import CameraRotationTracker, angvel_from_rotations
from genmo.conditions.keypoints2d import add_observation
from genmo.conditions.observation import VideoObservation, default_focal, resample_observation
from genmo.conditions.pose2d import VISIBLE_CONF, PoseEstimator, detect_people
from genmo.constants import MODEL_FPS, frame_at
from genmo.errors import ConditionError
from genmo.videofile import MAX_FRAME_PIXELS, VideoReader, check_frame_size

if TYPE_CHECKING:
    from genmo.conditions.builder import ConditionBuilder
    from genmo.conditions.encoders import EncodeContext
    from genmo.spec import VideoTrack

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
MAX_VIDEO_BYTES = 1024 * 1024 * 1024
MAX_VIDEO_SECONDS = 300.0
MAX_SOURCE_FRAMES = 9000
DETECT_EVERY = 10          # HOG runs on every n-th frame (and whenever the track is lost)
TRACK_GATE = 0.6           # a new box centre may move this many box heights per frame from the track
BOX_MARGIN = 0.1           # reported boxes = visible keypoint extent grown by this fraction per side

Progress = Callable[[int, int], None]


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


def extract_video(path: str | Path, fps: float = MODEL_FPS, offset: float = 0.0, duration: float | None = None,
                  focal: float | None = None, progress: Progress | None = None,
                  timings: dict[str, float] | None = None) -> VideoObservation:
    """Observe the main person of a video clip [offset, offset + duration) (or an image) at ``fps``.

    ``progress(frames_done, total)`` is called after each source frame; ``timings``, when
    given, receives mean milliseconds per source frame for 'decode', 'detect', 'pose', 'vo'.
    """
    path = Path(path)
    if not path.is_file():
        raise ConditionError(f"video file not found: {path}")
    if path.stat().st_size > MAX_VIDEO_BYTES:
        raise ConditionError(f"{path.name}: file is over the {MAX_VIDEO_BYTES // 2**20} MiB limit")
    if offset < 0 or (duration is not None and duration <= 0):
        raise ConditionError(f"{path.name}: offset must be >= 0 and duration > 0, got {offset}, {duration}")
    if duration is not None and duration > MAX_VIDEO_SECONDS:
        raise ConditionError(f"{path.name}: duration {duration:g} s is over the {MAX_VIDEO_SECONDS:g} s limit")

    if path.suffix.lower() in IMAGE_EXTENSIONS:
        import cv2
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as header:  # reads the header only
                check_frame_size(*header.size, path.name)
        except Image.DecompressionBombError:
            raise ConditionError(f"{path.name}: the image is over the {MAX_FRAME_PIXELS / 1e6:.1f} megapixel limit") from None
        except (UnidentifiedImageError, OSError):
            raise ConditionError(f"cannot decode image file {path.name}") from None
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise ConditionError(f"cannot decode image file {path.name}")
        src_fps, total, frames = fps, 1, iter([image])
    else:
        reader = VideoReader(path, fallback=True)
        src_fps, total, frames = reader.info.fps, reader.info.frames, reader.frames()
    first = int(round(offset * src_fps))
    count = int(round(duration * src_fps)) if duration is not None else MAX_SOURCE_FRAMES
    count = min(count, MAX_SOURCE_FRAMES, max(total - first, 0) if total else MAX_SOURCE_FRAMES)

    clock = {"decode": 0.0, "detect": 0.0, "pose": 0.0, "vo": 0.0}
    keypoints, boxes, found, rots = [], [], [], []
    tracker = PersonTracker()
    camera: CameraRotationTracker | None = None
    image_size: tuple[int, int] | None = None
    current_rot = np.eye(3)
    with PoseEstimator() as estimator:
        t0 = time.perf_counter()
        for index, frame in enumerate(frames):
            if index < first:
                continue
            if len(keypoints) >= count:
                break
            clock["decode"] += time.perf_counter() - t0
            if image_size is None:
                image_size = (int(frame.shape[1]), int(frame.shape[0]))
                focal = float(focal) if focal is not None else default_focal(image_size)
                camera = CameraRotationTracker(focal, image_size)
            kp = _observe(frame, len(keypoints), tracker, estimator, clock)
            ok = tracker.accept(kp)
            keypoints.append(kp if ok else np.zeros((17, 3), np.float32))
            boxes.append(tracker.box if tracker.box is not None else np.full(4, np.nan, np.float32))
            found.append(ok)
            t1 = time.perf_counter()
            current_rot = camera.step(frame, tracker.box) @ current_rot
            rots.append(current_rot)
            clock["vo"] += time.perf_counter() - t1
            if progress is not None:
                progress(len(keypoints), count if count < MAX_SOURCE_FRAMES else max(total - first, len(keypoints)))
            t0 = time.perf_counter()
    if not keypoints:
        raise ConditionError(f"{path.name}: no frames at offset {offset:g} s (the video is shorter or unreadable)")
    if not any(found):
        raise ConditionError(f"no person found in {path.name}")
    if timings is not None:
        timings.update({k: v * 1000 / len(keypoints) for k, v in clock.items()})
    bbox = np.stack(boxes)
    first_box = bbox[int(np.argmax(found))]
    bbox = np.where(np.isnan(bbox), first_box, bbox)  # frames before the person appeared
    assert image_size is not None and focal is not None
    obs = VideoObservation(
        keypoints=np.stack(keypoints).astype(np.float32), bbox=bbox.astype(np.float32), focal=float(focal),
        image_size=image_size, cam_angvel=angvel_from_rotations(np.stack(rots)), fps=float(src_fps),
        person_found=np.array(found), focal_known=False, cam_angvel_known=len(rots) > 1,
    )
    return resample_observation(obs, fps)


def _observe(frame: np.ndarray, t: int, tracker: PersonTracker, estimator: PoseEstimator,
             clock: dict[str, float]) -> np.ndarray | None:
    """Keypoints of the tracked person in one frame, or None."""
    box = tracker.box
    if tracker.box is None or tracker.lost > 0 or t % DETECT_EVERY == 0:
        t0 = time.perf_counter()
        dets, scores = detect_people(frame)
        clock["detect"] += time.perf_counter() - t0
        picked = tracker.pick(dets, scores)
        if picked is not None:
            box = picked
    t0 = time.perf_counter()
    kp = estimator.estimate(frame, box)  # no box (nobody detected, no track): the whole frame
    clock["pose"] += time.perf_counter() - t0
    return kp


def encode_tracks(tracks: list[VideoTrack], builder: ConditionBuilder, context: EncodeContext) -> None:
    """Video clips: the main person observed from ``offset`` for the clip's length, at MODEL_FPS."""
    for track in tracks:
        obs = extract_video(track.path, fps=MODEL_FPS, offset=track.offset, duration=track.end - track.start,
                            progress=context.stage("video"))
        add_observation(builder, obs, frame_at(track.start))
