"""What one camera saw of one person: the VideoObservation every 2D source produces (a video, a
keypoints file, a virtual camera of the training data), resampled and sliced in time.

keypoints are COCO-17 x, y in full-image pixels + confidence; cam_angvel[t] is the 6D of
R_{t+1} R_t^T (genmo.conditions.camera_motion).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from genmo.conditions.camera_motion import IDENTITY_6D, angvel_from_rotations, rotations_from_angvel
from genmo.errors import ConditionError


def default_focal(image_size: tuple[float, float]) -> float:
    """Focal length in pixels when nothing better is known: max(w, h), about a 53 degree field of view."""
    return float(max(image_size))


@dataclass
class VideoObservation:
    """One person seen by one camera, frame by frame at ``fps``.

    keypoints (T, 17, 3) COCO-17 x, y full-image pixels + confidence (0 where unseen);
    bbox (T, 4) xyxy pixels; focal (pixels); image_size (w, h); cam_angvel (T, 6) 6D of
    R_{t+1} R_t^T; person_found (T,) bool; interpolated (T,) True where the frame was
    resampled between source frames; focal_known / cam_angvel_known False where defaults
    (max(w, h) focal, static camera) were used.
    """

    keypoints: np.ndarray
    bbox: np.ndarray
    focal: float
    image_size: tuple[int, int]
    cam_angvel: np.ndarray
    fps: float
    person_found: np.ndarray
    interpolated: np.ndarray = field(default=None)  # type: ignore[assignment]
    focal_known: bool = False
    cam_angvel_known: bool = False

    def __post_init__(self) -> None:
        if self.interpolated is None:
            self.interpolated = np.zeros(len(self.keypoints), dtype=bool)

    @property
    def num_frames(self) -> int:
        return int(self.keypoints.shape[0])


def resample_observation(obs: VideoObservation, fps: float) -> VideoObservation:
    """Resample every per-frame array to ``fps`` over the same duration (T * fps / obs.fps frames).

    Keypoints and boxes are interpolated linearly between the two nearest source frames, and
    a joint keeps the lower of their two confidences; camera rotations are interpolated
    (slerp) before taking R_{t+1} R_t^T again. Frames between source frames (or held past
    the last one) are flagged ``interpolated``; person_found needs both neighbours found.
    """
    if abs(fps - obs.fps) < 1e-6:
        return obs
    from scipy.spatial.transform import Rotation, Slerp

    n_src = obs.num_frames
    n_out = max(1, int(round(n_src * fps / obs.fps)))
    pos = np.minimum(np.arange(n_out) * obs.fps / fps, n_src - 1)
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, n_src - 1)
    w = (pos - i0)[:, None]
    kp = obs.keypoints
    xy = kp[i0, :, :2] * (1 - w[..., None]) + kp[i1, :, :2] * w[..., None]
    conf = np.minimum(kp[i0, :, 2], np.where(w > 0, kp[i1, :, 2], kp[i0, :, 2]))
    bbox = obs.bbox[i0] * (1 - w) + obs.bbox[i1] * w
    exact = np.isclose(pos, np.round(pos)) & (np.arange(n_out) * obs.fps / fps <= n_src - 1 + 1e-6)
    found = obs.person_found[i0] & np.where(w[:, 0] > 0, obs.person_found[i1], True)
    if n_src > 1:
        rots = Rotation.from_matrix(rotations_from_angvel(obs.cam_angvel))
        angvel = angvel_from_rotations(Slerp(np.arange(n_src), rots)(pos).as_matrix())
    else:
        angvel = np.repeat(IDENTITY_6D[None], n_out, axis=0)
    return replace(
        obs,
        keypoints=np.concatenate([xy, conf[..., None]], axis=-1).astype(np.float32),
        bbox=bbox.astype(np.float32),
        cam_angvel=angvel,
        fps=float(fps),
        person_found=found,
        interpolated=~exact | obs.interpolated[i0],
    )




def slice_observation(obs: VideoObservation, start: int, end: int) -> VideoObservation:
    """The frames [start, end) of an observation (shorter when it ends first)."""
    if start >= obs.num_frames:
        raise ConditionError(f"2D keypoint clip offset is past the end of the file ({obs.num_frames / obs.fps:.2f} s)")
    sl = slice(start, min(end, obs.num_frames))
    return replace(obs, keypoints=obs.keypoints[sl], bbox=obs.bbox[sl], cam_angvel=obs.cam_angvel[sl],
                   person_found=obs.person_found[sl], interpolated=obs.interpolated[sl])
