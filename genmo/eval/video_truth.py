"""Ground truth for the video path: a held-out mocap clip rendered as the body mesh seen by a known
camera, and the errors of a video estimate of that rendering against the clip.

The camera stands still and pans (rotation only, the model's camera assumption) to keep the
smoothed pelvis in view (the rendering: genmo.eval.video_truth_render). Its focal length is the
pipeline's default (max(w, h) pixels) and its principal point the image centre, so the intrinsics
the pipeline assumes are the true ones. Errors are over SMPL-24 joints in the camera frame:
root-relative MPJPE (camera rotation and body pose) and PA-MPJPE (pose only), and in the world
WA-/W-MPJPE100, in mm, as genmo.eval.metrics defines them. Used by scripts/video_accuracy.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy.ndimage import gaussian_filter1d

from genmo.body.coco import coco17_from_smpl
from genmo.data.projection import look_at, project
from genmo.eval import metrics as M
from genmo.eval.common import to_camera

if TYPE_CHECKING:
    from genmo.conditions.frontend import FrontEndOptions

TRUTH_SIZE = (640, 480)
TRUTH_FPS = 30.0


@dataclass(frozen=True)
class TruthView:
    """Where the still camera stands: ``distance`` m from the centre of the pelvis path, ``azimuth_deg``
    from the body's first facing direction (0: in front, 90: on its left), eye ``height`` m; it pans to
    the pelvis smoothed over ``follow_s`` seconds."""

    distance: float = 5.0
    azimuth_deg: float = 30.0
    height: float = 1.4
    follow_s: float = 1.0


@dataclass
class TruthCamera:
    """World-to-camera extrinsics (OpenCV axes) per frame, cam_R (T, 3, 3) and cam_t (T, 3), and pinhole
    intrinsics: focal (pixels), principal point at the centre of image_size (w, h)."""

    cam_R: np.ndarray
    cam_t: np.ndarray
    focal: float
    image_size: tuple[int, int]

    def joints(self, world: np.ndarray) -> np.ndarray:
        """World points (T, P, 3) in this camera's frame."""
        return to_camera(world, self.cam_R, self.cam_t)

    def pixels(self, world: np.ndarray) -> np.ndarray:
        """World points (T, P, 3) projected to pixels (T, P, 2)."""
        w, h = self.image_size
        k = np.array([[self.focal, 0, w / 2], [0, self.focal, h / 2], [0, 0, 1]], dtype=np.float64)
        return project(world, self.cam_R.astype(np.float64), self.cam_t.astype(np.float64), k)[0]


def facing(joints: np.ndarray) -> np.ndarray:
    """The body's horizontal facing direction (unit, 3) in frame 0 of SMPL-24 world joints (Y up)."""
    across = joints[0, 1] - joints[0, 2]  # left hip - right hip
    forward = np.cross(across, np.array([0.0, 1.0, 0.0]))
    forward[1] = 0.0
    return forward / max(np.linalg.norm(forward), 1e-9)


def truth_camera(joints: np.ndarray, view: TruthView = TruthView(), size: tuple[int, int] = TRUTH_SIZE,
                 fps: float = TRUTH_FPS) -> TruthCamera:
    """A still, panning camera watching world joints (T, 24, 3) from ``view``."""
    pelvis = np.asarray(joints[:, 0], dtype=np.float64)
    centre = (pelvis.min(0) + pelvis.max(0)) / 2
    f = facing(joints)
    a = np.radians(view.azimuth_deg)
    side = np.array([f[2], 0.0, -f[0]])  # f turned +90 degrees about Y (the body's left)
    eye = centre + view.distance * (np.cos(a) * f + np.sin(a) * side)
    eye[1] = view.height
    sigma = max(view.follow_s * fps / 2, 1e-3)
    target = gaussian_filter1d(pelvis, sigma, axis=0, mode="nearest") if len(pelvis) > 1 else pelvis
    cam_r = look_at(np.broadcast_to(eye, target.shape).copy(), target)
    cam_t = -np.einsum("tab,b->ta", cam_r, eye)
    return TruthCamera(cam_r.astype(np.float32), cam_t.astype(np.float32), float(max(size)), size)


def keypoint_error(keypoints: np.ndarray, found: np.ndarray, joints: np.ndarray, camera: TruthCamera) -> dict[str, float]:
    """The 2D front end against the projected truth: frames with a person (%), and the mean distance of
    the COCO-17 body points (shoulders to ankles) over those frames, in % of the true pelvis-to-head
    height x 2 (about the body height). keypoints (T, 17, 3), found (T,), joints (T, 24, 3) world."""
    n = min(len(keypoints), len(joints))
    found = np.asarray(found[:n], bool)
    truth = camera.pixels(coco17_from_smpl(joints[:n]))
    head = camera.pixels(joints[:n, [0, 15]])
    height = 2 * np.linalg.norm(head[:, 1] - head[:, 0], axis=-1)
    dist = np.linalg.norm(keypoints[:n, 5:, :2] - truth[:, 5:], axis=-1) / np.maximum(height, 1.0)[:, None]
    return {"found_pct": float(found.mean() * 100),
            "kp2d_err_pct": float(dist[found].mean() * 100) if found.any() else float("nan")}


def joint_errors(joints: np.ndarray, cam_R: np.ndarray, cam_t: np.ndarray, truth: np.ndarray,
                 camera: TruthCamera) -> dict[str, float]:
    """Errors (mm) of an estimate, world joints (T, 24, 3) seen by its own camera (cam_R, cam_t), against
    the true world joints (T', 24, 3) seen by ``camera``, over their common frames: mpjpe_mm (camera
    frame, pelvis-relative), pa_mpjpe_mm, and in the world wa_mpjpe_mm (WA-MPJPE100) and w_mpjpe_mm
    (W-MPJPE100), which also see the camera-rotation estimate."""
    n = min(len(joints), len(truth))
    if n == 0:
        raise ValueError("joint_errors: no common frames")
    world = np.asarray(joints[:n], np.float64)
    pred = to_camera(world, np.asarray(cam_R[:n], np.float64), np.asarray(cam_t[:n], np.float64))
    gt = camera.joints(truth[:n].astype(np.float64))
    return {"mpjpe_mm": float(M.mpjpe(pred, gt).mean()), "pa_mpjpe_mm": float(M.pa_mpjpe(pred, gt).mean()),
            "wa_mpjpe_mm": float(M.wa_mpjpe(world, truth[:n]).mean()),
            "w_mpjpe_mm": float(M.w_mpjpe(world, truth[:n]).mean())}


def score_video(pipe, video: str | Path, truth: np.ndarray, camera: TruthCamera,
                options: FrontEndOptions | None = None, steps: int | None = None) -> dict[str, float]:
    """Estimate a truth video end to end as `genmo estimate --video` does (front-end ``options``, None:
    every frame; the pipeline's default steps, seed 0) and score it against the true world joints
    (T, 24, 3): joint_errors, keypoint_error and the wall time (s)."""
    import time

    from genmo.spec import spec_for_observation

    spec = spec_for_observation("video", video)
    previous, pipe.video_options = pipe.video_options, options
    try:
        start = time.perf_counter()
        result = pipe(spec, steps=steps, seed=0)
        wall = time.perf_counter() - start
    finally:
        pipe.video_options = previous
    motion, obs = result.motion, result.observation
    if motion.cam_R is None or obs is None:
        raise ValueError(f"{Path(video).name}: the estimate has no camera or observation")
    return {**joint_errors(motion.joints, motion.cam_R, motion.cam_t, truth, camera),
            **keypoint_error(obs.keypoints, obs.person_found, truth, camera), "wall_s": wall}
