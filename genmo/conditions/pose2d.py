"""People detection (OpenCV HOG, no weights) and 2D keypoints (BlazePose from mediapipe) in COCO-17 order.

BlazePose misses small people, so it runs on an enlarged crop around the person box, upscaled
so the crop's longer side is CROP_SIDE pixels. Its 33 landmarks map to COCO-17 by BLAZE_TO_COCO;
confidence = landmark visibility, 0 for landmarks outside the crop.
"""

from __future__ import annotations

import os
import threading

import numpy as np

from genmo.errors import MissingExtraError

BLAZE_TO_COCO: tuple[int, ...] = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
CROP_ENLARGE = 1.5         # crop = person box grown by this factor (keeps limbs the box cut off)
CROP_SIDE = 384            # the crop is resized so its longer side has this many pixels
HOG_MAX_SIDE = 960         # frames are downscaled to this side for the HOG detector
HOG_MIN_SIDE = 480         # ... and upscaled to at least this side (small frames, small people)
MIN_VISIBLE_JOINTS = 4     # a pose with fewer joints above VISIBLE_CONF counts as no person
VISIBLE_CONF = 0.5

_POSE_LOCK = threading.Lock()


def detect_people(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """HOG people detections of a BGR frame: boxes (K, 4) xyxy full-image pixels and scores (K,)."""
    import cv2

    hog = _hog()
    h, w = frame.shape[:2]
    scale = min(HOG_MAX_SIDE / max(h, w), max(1.0, HOG_MIN_SIDE / max(h, w)))
    img = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR) if scale != 1.0 else frame
    rects, weights = hog.detectMultiScale(img, winStride=(8, 8), padding=(8, 8), scale=1.05)
    if len(rects) == 0:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
    rects = np.asarray(rects, dtype=np.float32) / scale
    boxes = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]], axis=1)
    # The HOG window has a margin around the person: shrink it to the body.
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    bw, bh = (boxes[:, 2] - boxes[:, 0]) * 0.6, (boxes[:, 3] - boxes[:, 1]) * 0.8
    boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
    return boxes, np.asarray(weights, dtype=np.float32).reshape(-1)


_HOG = threading.local()


def _hog():
    import cv2

    if not hasattr(_HOG, "hog"):
        _HOG.hog = cv2.HOGDescriptor()
        _HOG.hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    return _HOG.hog


class PoseEstimator:
    """BlazePose (model_complexity=1, the one shipped in the wheel) on person crops.

    ``tracking`` runs BlazePose in its video mode: its own person detector runs only when the
    landmarks of the previous call lose the person, so frames must come in order, and crops should
    follow the person (as the front end's do). Landmark smoothing stays off either way.
    """

    def __init__(self, min_detection_confidence: float = 0.3, tracking: bool = False) -> None:
        os.environ.setdefault("GLOG_minloglevel", "2")
        try:
            import mediapipe as mp
        except ModuleNotFoundError as err:
            raise MissingExtraError(f"estimating from video needs the video extra (pip install "
                                    f"'genmo-studio[video]'): {err}", name=err.name) from None

        self._make = lambda: mp.solutions.pose.Pose(static_image_mode=not tracking, model_complexity=1,
                                                    smooth_landmarks=False,
                                                    min_detection_confidence=min_detection_confidence)
        self._pose = self._make()
        self.tracking = tracking

    def reset(self) -> None:
        """Forget the tracked person (video mode): the next call runs BlazePose's detector again."""
        if self.tracking:
            old, self._pose = self._pose, self._make()
            threading.Thread(target=old.close, daemon=True, name="genmo-pose-close").start()  # closing takes ~0.1 s

    def close(self) -> None:
        self._pose.close()

    def __enter__(self) -> "PoseEstimator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def estimate(self, frame: np.ndarray, box: np.ndarray | None = None) -> np.ndarray | None:
        """COCO-17 keypoints (17, 3) full-image x, y, confidence of the person in ``box`` (xyxy), or None.

        Without a box the whole frame is used (people that fill the frame).
        """
        import cv2

        h, w = frame.shape[:2]
        if box is None:
            x0, y0, side_w, side_h = 0.0, 0.0, float(w), float(h)
        else:
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            side = max(box[2] - box[0], box[3] - box[1]) * CROP_ENLARGE
            x0, y0, side_w, side_h = cx - side / 2, cy - side / 2, side, side
        scale = CROP_SIDE / max(side_w, side_h)
        # Affine crop with border padding: handles boxes that leave the frame.
        m = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], dtype=np.float64)
        out_w, out_h = int(round(side_w * scale)), int(round(side_h * scale))
        crop = cv2.warpAffine(frame, m, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        rgb = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB) if crop.ndim == 3 else cv2.cvtColor(crop, cv2.COLOR_GRAY2RGB)
        with _POSE_LOCK:
            result = self._pose.process(rgb)
        if result.pose_landmarks is None:
            return None
        lm = result.pose_landmarks.landmark
        kp = np.zeros((17, 3), np.float32)
        for i, j in enumerate(BLAZE_TO_COCO):
            u, v = lm[j].x, lm[j].y
            inside = 0.0 <= u <= 1.0 and 0.0 <= v <= 1.0
            kp[i] = (x0 + u * out_w / scale, y0 + v * out_h / scale, lm[j].visibility if inside else 0.0)
        kp[:, 2] = np.clip(kp[:, 2], 0.0, 1.0)
        if (kp[:, 2] > VISIBLE_CONF).sum() < MIN_VISIBLE_JOINTS:
            return None
        return kp
