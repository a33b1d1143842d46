"""2D keypoints: the keypoints npz file, the model's 2D normalisation and the 2D keypoint track encoder.

The npz (docs/spec.md): ``keypoints`` (T, 17, 3) COCO-17 x, y in pixels + confidence;
``image_size`` (2,) width, height; optional ``fps`` (scalar, default DEFAULT_FPS), ``bbox`` (T, 4)
xyxy pixels, ``focal`` (scalar pixels, default max(w, h)), ``cam_angvel`` (T, 6), ``person_found`` (T,).

Pure functions shared by the video pipeline and the data pipeline (virtual-camera projections):
bbox_xys_from_keypoints / bbox_xys_from_xyxy (GVHMR's get_bbx_xys: fit to 192:256, size = max * 1.2),
normalize_kp2d (xy -> 2(xy - c)/b, conf 0 outside the box), bbox_feature ([(cx-icx)/f, (cy-icy)/f, b/f]).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from genmo.conditions.camera_motion import IDENTITY_6D
from genmo.conditions.npzfile import open_npz
from genmo.conditions.observation import VideoObservation, default_focal, resample_observation, slice_observation
from genmo.constants import MODEL_FPS, frame_at
from genmo.errors import ConditionError, one_line

if TYPE_CHECKING:
    from genmo.conditions.builder import ConditionBuilder
    from genmo.conditions.encoders import EncodeContext
    from genmo.spec import Keypoints2DTrack

NUM_KEYPOINTS = 17
COCO17_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
DEFAULT_FPS = 30.0
BBOX_ASPECT = 192.0 / 256.0   # width / height of the model's crop
BBOX_ENLARGE = 1.2
MAX_KEYPOINT_FRAMES = 30 * 60 * 10  # ten minutes at 30 fps
VISIBLE_CONF = 0.5


# -- the model's 2D normalisation (docs/model.md §2) -----------------------------------------------

def _fit_aspect(cx: np.ndarray, cy: np.ndarray, w: np.ndarray, h: np.ndarray, enlarge: float) -> np.ndarray:
    w = np.asarray(w, dtype=np.float64).copy()
    h = np.asarray(h, dtype=np.float64).copy()
    wide = w > BBOX_ASPECT * h
    h[wide] = w[wide] / BBOX_ASPECT
    w[~wide] = h[~wide] * BBOX_ASPECT
    return np.stack([cx, cy, np.maximum(w, h) * enlarge], axis=-1).astype(np.float32)


def bbox_xys_from_keypoints(keypoints: np.ndarray, enlarge: float = BBOX_ENLARGE, min_conf: float = 0.0) -> np.ndarray:
    """Square-ish box [cx, cy, size] (..., 3) around keypoints (..., 17, 2 or 3).

    Joints with confidence <= min_conf are ignored when a confidence column exists; a frame
    with no such joint uses all of them.
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    xy = kp[..., :2]
    if kp.shape[-1] == 3:
        seen = kp[..., 2] > min_conf
        seen = np.where(seen.any(-1, keepdims=True), seen, True)
    else:
        seen = np.ones(xy.shape[:-1], dtype=bool)
    lo = np.where(seen[..., None], xy, np.inf).min(-2)
    hi = np.where(seen[..., None], xy, -np.inf).max(-2)
    center = (lo + hi) / 2
    return _fit_aspect(center[..., 0], center[..., 1], hi[..., 0] - lo[..., 0], hi[..., 1] - lo[..., 1], enlarge)


def bbox_xys_from_xyxy(bbox: np.ndarray, enlarge: float = BBOX_ENLARGE) -> np.ndarray:
    """Detector box xyxy (..., 4) -> [cx, cy, size] (..., 3), fitted to 192:256 and enlarged."""
    b = np.asarray(bbox, dtype=np.float64)
    return _fit_aspect((b[..., 0] + b[..., 2]) / 2, (b[..., 1] + b[..., 3]) / 2,
                       b[..., 2] - b[..., 0], b[..., 3] - b[..., 1], enlarge)


def normalize_kp2d(keypoints: np.ndarray, bbx_xys: np.ndarray) -> np.ndarray:
    """Keypoints (..., 17, 3) pixels -> box coordinates in [-1, 1]: xy -> 2(xy - c)/b; conf 0 outside the box."""
    kp = np.asarray(keypoints, dtype=np.float32).copy()
    box = np.asarray(bbx_xys, dtype=np.float32)
    center = box[..., None, :2]
    size = box[..., None, 2:3]
    outside = (np.abs(kp[..., :2] - center) > size / 2).any(-1)
    kp[..., 2] = np.where(outside, 0.0, kp[..., 2])
    kp[..., :2] = 2 * (kp[..., :2] - center) / size
    return kp


def bbox_feature(bbx_xys: np.ndarray, focal: float | np.ndarray, image_size: tuple[float, float]) -> np.ndarray:
    """CLIFF box feature [(cx - icx)/f, (cy - icy)/f, b/f] (..., 3) with the principal point at the image centre."""
    box = np.asarray(bbx_xys, dtype=np.float32)
    f = np.asarray(focal, dtype=np.float32)[..., None]
    icx, icy = image_size[0] / 2.0, image_size[1] / 2.0
    return np.stack([box[..., 0] - icx, box[..., 1] - icy, box[..., 2]], axis=-1) / f


def condition_arrays(obs: VideoObservation) -> dict[str, np.ndarray]:
    """The per-frame model inputs of an observation: normalised keypoints (T, 17, 3), bbox
    feature (T, 3), cam_angvel (T, 6), box bbx_xys (T, 3) and the per-frame mask (T,)."""
    bbx = bbox_xys_from_keypoints(obs.keypoints, min_conf=VISIBLE_CONF)
    usable = obs.person_found & (bbx[..., 2] > 1.0)  # frames without a real box carry no 2D evidence
    bbx = np.where(usable[:, None], bbx, np.array([obs.image_size[0] / 2, obs.image_size[1] / 2, 1.0]))
    kp2d = normalize_kp2d(obs.keypoints, bbx)
    kp2d[~usable] = 0.0
    return {
        "kp2d": kp2d,
        "bbx_xys": bbx.astype(np.float32),
        "bbox_feature": np.where(usable[:, None], bbox_feature(bbx, obs.focal, obs.image_size), 0.0).astype(np.float32),
        "cam_angvel": obs.cam_angvel.astype(np.float32),
        "mask": usable,
    }


# -- the npz file ---------------------------------------------------------------------------------

def _read(data: np.lib.npyio.NpzFile, key: str, name: str) -> np.ndarray:
    try:
        return np.asarray(data[key])
    except (OSError, ValueError) as exc:
        raise ConditionError(f"{name}: cannot read '{key}' ({one_line(exc)})") from None


def _array(data: np.lib.npyio.NpzFile, key: str, name: str, shape: tuple) -> np.ndarray:
    arr = _read(data, key, name)
    if arr.dtype.kind not in "fiub":
        raise ConditionError(f"{name}: '{key}' must be numeric, got dtype {arr.dtype}")
    dims = ", ".join("T" if s is None else str(s) for s in shape)
    if arr.ndim != len(shape) or any(s is not None and a != s for a, s in zip(arr.shape, shape)):
        raise ConditionError(f"{name}: '{key}' must have shape ({dims}{',' if len(shape) == 1 else ''}), got {arr.shape}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ConditionError(f"{name}: '{key}' contains NaN or infinite values")
    return arr


def _scalar(data: np.lib.npyio.NpzFile, key: str, name: str) -> float:
    arr = _read(data, key, name)
    if arr.size != 1 or arr.dtype.kind not in "fiu" or not np.isfinite(arr).all() or float(arr.reshape(())) <= 0:
        raise ConditionError(f"{name}: '{key}' must be one positive number, got {arr!r}")
    return float(arr.reshape(()))


def load_keypoints2d(path: str | Path, fps: float | None = None) -> VideoObservation:
    """Load and validate a keypoints npz; resample to ``fps`` when given."""
    path = Path(path)
    name = path.name
    with open_npz(path, "keypoints", ("keypoints", "image_size")) as data:
        kp = _array(data, "keypoints", name, (None, NUM_KEYPOINTS, 3)).astype(np.float32)
        size = _array(data, "image_size", name, (2,))
        if (size <= 0).any():
            raise ConditionError(f"{name}: 'image_size' must be positive (width, height), got {size.tolist()}")
        image_size = (int(size[0]), int(size[1]))
        n = len(kp)
        if n == 0 or n > MAX_KEYPOINT_FRAMES:
            raise ConditionError(f"{name}: 'keypoints' has {n} frames; expected 1 to {MAX_KEYPOINT_FRAMES}")
        if (kp[..., 2] < 0).any():
            raise ConditionError(f"{name}: 'keypoints' confidences must be >= 0")
        kp[..., 2] = np.minimum(kp[..., 2], 1.0)
        src_fps = _scalar(data, "fps", name) if "fps" in data.files else DEFAULT_FPS
        focal_known = "focal" in data.files
        focal = _scalar(data, "focal", name) if focal_known else default_focal(image_size)
        person_found = (kp[..., 2] > 0).any(-1)
        if "person_found" in data.files:
            person_found = _array(data, "person_found", name, (n,)).astype(bool) & person_found
        bbox = (_array(data, "bbox", name, (n, 4)).astype(np.float32) if "bbox" in data.files
                else _xyxy_from_keypoints(kp))
        angvel_known = "cam_angvel" in data.files
        angvel = (_array(data, "cam_angvel", name, (n, 6)).astype(np.float32) if angvel_known
                  else np.repeat(IDENTITY_6D[None], n, axis=0))
    if not person_found.any():
        raise ConditionError(f"{name}: every keypoint confidence is 0 (no person)")
    obs = VideoObservation(kp, bbox, focal, image_size, angvel, src_fps, person_found,
                           focal_known=focal_known, cam_angvel_known=angvel_known)
    return resample_observation(obs, fps) if fps is not None else obs


def _xyxy_from_keypoints(kp: np.ndarray) -> np.ndarray:
    seen = kp[..., 2] > 0
    seen = np.where(seen.any(-1, keepdims=True), seen, True)
    lo = np.where(seen[..., None], kp[..., :2], np.inf).min(-2)
    hi = np.where(seen[..., None], kp[..., :2], -np.inf).max(-2)
    return np.concatenate([lo, hi], axis=-1).astype(np.float32)


def save_keypoints2d(path: str | Path, obs: VideoObservation) -> None:
    """Write an observation as a keypoints npz (readable by load_keypoints2d)."""
    arrays = {
        "keypoints": obs.keypoints.astype(np.float32),
        "image_size": np.asarray(obs.image_size, dtype=np.int64),
        "fps": np.float32(obs.fps),
        "bbox": obs.bbox.astype(np.float32),
        "person_found": obs.person_found.astype(bool),
    }
    if obs.focal_known:
        arrays["focal"] = np.float32(obs.focal)
    if obs.cam_angvel_known:
        arrays["cam_angvel"] = obs.cam_angvel.astype(np.float32)
    np.savez(path, **arrays)


def add_observation(builder: ConditionBuilder, obs: VideoObservation, start: int) -> None:
    """Write an observation at MODEL_FPS into the builder from frame ``start``: 2D keypoints and bbox
    on the frames with a usable box, camera angular velocity on every frame, and its focal."""
    arrays = condition_arrays(obs)
    present = arrays["mask"]
    builder.add_frames("kp2d", arrays["kp2d"], start, present)
    builder.add_frames("bbox", arrays["bbox_feature"], start, present)
    builder.add_frames("cam_angvel", arrays["cam_angvel"], start, np.ones(len(present), bool))
    builder.focal = float(obs.focal)
    if builder.observation is None:
        builder.observation = obs


def encode_tracks(tracks: list[Keypoints2DTrack], builder: ConditionBuilder, context: EncodeContext) -> None:
    """2D keypoint clips: the file resampled to MODEL_FPS, cut from ``offset`` for the clip's length."""
    for track in tracks:
        obs = resample_observation(load_keypoints2d(track.path), MODEL_FPS)
        first = frame_at(track.offset)
        add_observation(builder, slice_observation(obs, first, first + frame_at(track.end - track.start)),
                        frame_at(track.start))
