"""Fit the camera translation of an estimated motion to the 2D keypoints it was estimated from.

The model predicts the body and a camera; drawn over the video, its predicted translation can put the
body beside, above or in front of the person (it is the hardest part to estimate). Given the
body's joints and the camera rotation, the translation that best reprojects the body's COCO-17
points onto the detected keypoints is a linear least-squares problem per frame:

    u = f x / z + cx  ->  f t_x - (u - cx) t_z = (u - cx) a_z - f a_x,   a = R X   (and the same for v)

The body's hip middle is then moved (at the fitted depth) onto the detected one when both hips are
seen, so that the pelvis stands where the person's is. Frames with too few confident keypoints take the fitted translation of their neighbours.
"""

from __future__ import annotations

import numpy as np

from genmo.body.coco import coco17_from_smpl

MIN_CONFIDENCE = 0.3
MIN_POINTS = 4
MIN_DEPTH = 0.1  # metres in front of the camera
HIPS = (11, 12)  # COCO-17 left and right hip


def fit_camera_translation(joints: np.ndarray, cam_R: np.ndarray, cam_t: np.ndarray, keypoints: np.ndarray,
                           focal: float, principal: tuple[float, float]) -> np.ndarray:
    """Camera translations (T, 3) that project ``joints`` (T, 24, 3, world) onto ``keypoints``.

    cam_R (T, 3, 3) / cam_t (T, 3): world-to-camera (OpenCV); keypoints (T, 17, 3) pixels +
    confidence; focal and principal (cx, cy) in the same pixels. Where no frame can be fitted,
    ``cam_t`` is returned unchanged.
    """
    joints, cam_R = np.asarray(joints, np.float64), np.asarray(cam_R, np.float64)
    cam_t, keypoints = np.asarray(cam_t, np.float64), np.asarray(keypoints, np.float64)
    n = min(len(joints), len(cam_R), len(keypoints))
    fitted = np.full((len(cam_t), 3), np.nan)
    # COCO-17 points plus the middle of the hips: the fit gives the depth (the body's size), then the
    # body's hip middle (just below its pelvis) goes exactly onto the detected one when both hips are seen
    coco = coco17_from_smpl(joints[:n])
    body = np.concatenate([coco, coco[:, list(HIPS)].mean(axis=1, keepdims=True)], axis=1)
    points = np.einsum("tab,tkb->tka", cam_R[:n], body)
    hips = keypoints[:n, list(HIPS)]
    targets = np.concatenate([keypoints[:n], np.concatenate([hips[:, :, :2].mean(1), hips[:, :, 2].min(1)[:, None]],
                                                            axis=1)[:, None]], axis=1)
    cx, cy = principal
    for i in range(n):
        conf = targets[i, :, 2]
        use = conf >= MIN_CONFIDENCE
        if use[:17].sum() < MIN_POINTS:
            continue
        t = _fit_frame(points[i, use], targets[i, use, :2] - (cx, cy), np.sqrt(conf[use]), float(focal))
        if t is not None and use[-1]:  # both hips seen: the body's hip middle onto theirs, at the fitted depth
            depth = points[i, -1, 2] + t[2]
            t[:2] = (targets[i, -1, :2] - (cx, cy)) * depth / focal - points[i, -1, :2]
        if t is not None:
            fitted[i] = t
    good = np.flatnonzero(np.isfinite(fitted[:, 0]))
    if not len(good):
        return cam_t.astype(np.float32)
    frames = np.arange(len(cam_t))
    out = np.stack([np.interp(frames, good, fitted[good, k]) for k in range(3)], axis=1)
    return out.astype(np.float32)


def _fit_frame(a: np.ndarray, uv: np.ndarray, w: np.ndarray, focal: float, iterations: int = 4) -> np.ndarray | None:
    """Translation (3,) putting camera-rotated points ``a`` (K, 3) onto centred pixels ``uv`` (K, 2), or None.

    Starts from the weak-perspective fit (depth from the spread of the points, centroid onto the
    centroid), then refines the linear system reweighted by each point's depth (so that it
    approximates the pixel error rather than favouring a camera close to the body); a refinement
    that does not lower the pixel error is not taken.
    """
    spread_3d = np.sqrt((((a[:, :2] - a[:, :2].mean(0)) ** 2).sum(1) * w).sum() / w.sum())
    spread_2d = np.sqrt((((uv - uv.mean(0)) ** 2).sum(1) * w).sum() / w.sum())
    if spread_2d < 1e-6 or spread_3d < 1e-6:
        return None
    depth = focal * spread_3d / spread_2d
    t = np.empty(3)
    t[2] = depth - a[:, 2].mean()
    t[:2] = (uv * w[:, None]).sum(0) / w.sum() * depth / focal - (a[:, :2] * w[:, None]).sum(0) / w.sum()
    best, best_err = t, _pixel_error(a, uv, w, focal, t)
    zeros, ones = np.zeros(len(a)), np.full(len(a), focal)
    rows = np.concatenate([np.stack([ones, zeros, -uv[:, 0]], 1), np.stack([zeros, ones, -uv[:, 1]], 1)])
    rhs = np.concatenate([uv[:, 0] * a[:, 2] - focal * a[:, 0], uv[:, 1] * a[:, 2] - focal * a[:, 1]])
    for _ in range(iterations):
        z = a[:, 2] + t[2]
        if z.min() <= MIN_DEPTH:
            break
        weights = np.concatenate([w / z, w / z])
        t, *_ = np.linalg.lstsq(rows * weights[:, None], rhs * weights, rcond=None)
        err = _pixel_error(a, uv, w, focal, t)
        if err < best_err:
            best, best_err = t, err
    return best if (a[:, 2] + best[2]).min() > MIN_DEPTH else None


def _pixel_error(a: np.ndarray, uv: np.ndarray, w: np.ndarray, focal: float, t: np.ndarray) -> float:
    z = a[:, 2] + t[2]
    if z.min() <= MIN_DEPTH:
        return float("inf")
    proj = (a[:, :2] + t[:2]) / z[:, None] * focal
    return float((np.linalg.norm(proj - uv, axis=1) * w).sum() / w.sum())
