"""Camera rotation between video frames (ORB + essential matrix) and the 6-d camera angular velocity.

cam_angvel[t] = 6D(R_{t+1} R_t^T) of world-to-camera rotations: the first two ROWS, flattened,
as genmo.body.rotations.matrix_to_rot6d; the last value is repeated. A static camera gives the
identity, [1, 0, 0, 0, 1, 0].
"""

from __future__ import annotations

import numpy as np

IDENTITY_6D = np.array([1.0, 0.0, 0.0, 0.0, 1.0, 0.0], dtype=np.float32)
VO_MAX_SIDE = 640           # frames are downscaled to this longest side before matching
ORB_FEATURES = 1500
MIN_MATCHES = 20            # fewer good matches -> the step is taken as no rotation
STATIC_PIXELS = 0.5         # median match displacement (full-resolution px) under which the camera is static
ROTATION_FIT_PIXELS = 1.0   # a rotation-only model this close (median px) -> the camera turned in place


def rot6d_np(m: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) -> 6D, the first two rows flattened (..., 6)."""
    m = np.asarray(m)
    return m[..., :2, :].reshape(*m.shape[:-2], 6).astype(np.float32)


def rot6d_to_matrix_np(d6: np.ndarray) -> np.ndarray:
    """6D (two rows) -> rotation matrices by Gram-Schmidt, (..., 6) -> (..., 3, 3)."""
    d6 = np.asarray(d6, dtype=np.float64)
    a1, a2 = d6[..., :3], d6[..., 3:]
    b1 = a1 / np.linalg.norm(a1, axis=-1, keepdims=True)
    a2 = a2 - (b1 * a2).sum(-1, keepdims=True) * b1
    b2 = a2 / np.linalg.norm(a2, axis=-1, keepdims=True)
    return np.stack((b1, b2, np.cross(b1, b2)), axis=-2)


def angvel_from_rotations(rots: np.ndarray) -> np.ndarray:
    """World-to-camera rotations (T, 3, 3) -> cam_angvel (T, 6); the last value is repeated."""
    rots = np.asarray(rots, dtype=np.float64)
    if rots.ndim != 3 or rots.shape[1:] != (3, 3) or len(rots) == 0:
        raise ValueError(f"rotations: expected shape (T, 3, 3), got {rots.shape}")
    if len(rots) == 1:
        return IDENTITY_6D[None].copy()
    rel = rots[1:] @ np.swapaxes(rots[:-1], -1, -2)
    rel = np.concatenate([rel, rel[-1:]], axis=0)
    return rot6d_np(rel)


def rotations_from_angvel(angvel: np.ndarray) -> np.ndarray:
    """cam_angvel (T, 6) -> world-to-camera rotations (T, 3, 3) with R_0 = I."""
    steps = rot6d_to_matrix_np(angvel)
    rots = np.empty((len(steps), 3, 3))
    rots[0] = np.eye(3)
    for t in range(1, len(steps)):
        rots[t] = steps[t - 1] @ rots[t - 1]
    return rots


def _gray_small(frame: np.ndarray) -> tuple[np.ndarray, float]:
    import cv2

    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    scale = min(1.0, VO_MAX_SIDE / max(gray.shape[:2]))
    if scale < 1.0:
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return gray, scale


class CameraRotationTracker:
    """Feed frames in order; each ``step`` returns R_{t+1} R_t^T between the last two frames.

    focal and the principal point are in full-image pixels. ``exclude`` (x0, y0, x1, y1) is a
    full-image box (the tracked person) whose features are ignored: they move with the body.
    """

    def __init__(self, focal: float, image_size: tuple[int, int]) -> None:
        import cv2

        self.focal = float(focal)
        self.center = (image_size[0] / 2.0, image_size[1] / 2.0)
        self._orb = cv2.ORB_create(nfeatures=ORB_FEATURES)
        self._matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
        self._prev: tuple[np.ndarray, np.ndarray | None, float] | None = None

    def _features(self, frame: np.ndarray, exclude: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None, float]:
        gray, scale = _gray_small(frame)
        mask = np.full(gray.shape, 255, np.uint8)
        if exclude is not None and np.isfinite(exclude).all():
            x0, y0, x1, y1 = (np.asarray(exclude) * scale).round().astype(int)
            mask[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = 0
        keypoints, desc = self._orb.detectAndCompute(gray, mask)
        pts = np.array([k.pt for k in keypoints], np.float32).reshape(-1, 2) / scale
        return pts, desc, scale

    def step(self, frame: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray:
        """Add a frame; returns the 3x3 rotation from the previous frame's camera to this one (I first)."""
        current = self._features(frame, exclude)
        previous, self._prev = self._prev, current
        if previous is None:
            return np.eye(3)
        return self._relative_rotation(previous, current)

    def _relative_rotation(self, a: tuple, b: tuple) -> np.ndarray:
        import cv2

        pts_a, desc_a, _ = a
        pts_b, desc_b, _ = b
        if desc_a is None or desc_b is None or len(pts_a) < MIN_MATCHES or len(pts_b) < MIN_MATCHES:
            return np.eye(3)
        good = []
        for pair in self._matcher.knnMatch(desc_a, desc_b, k=2):
            if len(pair) == 2 and pair[0].distance < 0.75 * pair[1].distance:
                good.append(pair[0])
        if len(good) < MIN_MATCHES:
            return np.eye(3)
        p1 = pts_a[[m.queryIdx for m in good]].astype(np.float64)
        p2 = pts_b[[m.trainIdx for m in good]].astype(np.float64)
        if np.median(np.linalg.norm(p2 - p1, axis=1)) < STATIC_PIXELS:
            return np.eye(3)
        k = np.array([[self.focal, 0, self.center[0]], [0, self.focal, self.center[1]], [0, 0, 1]])
        rot = _rotation_from_homography(p1, p2, k)
        if rot is not None:
            return rot
        e, inliers = cv2.findEssentialMat(p1, p2, k, method=cv2.RANSAC, prob=0.999, threshold=1.0)
        if e is None or e.shape != (3, 3) or inliers is None or inliers.sum() < MIN_MATCHES:
            return np.eye(3)
        _, rot, _, _ = cv2.recoverPose(e, p1, p2, k, mask=inliers)
        return rot


def _rotation_from_homography(p1: np.ndarray, p2: np.ndarray, k: np.ndarray) -> np.ndarray | None:
    """The rotation when the matches fit x2 ~ K R K^-1 x1 (camera turning in place), else None.

    The essential matrix is degenerate without translation, so this case is tried first: RANSAC
    homography inliers, then the rotation aligning their viewing rays (Kabsch), accepted when
    it reprojects them within ROTATION_FIT_PIXELS.
    """
    import cv2

    _, inliers = cv2.findHomography(p1, p2, cv2.RANSAC, 2.0)
    if inliers is None or inliers.mean() < 0.6:
        return None
    keep = inliers.ravel().astype(bool)
    k_inv = np.linalg.inv(k)
    rays1 = np.c_[p1[keep], np.ones(keep.sum())] @ k_inv.T
    rays2 = np.c_[p2[keep], np.ones(keep.sum())] @ k_inv.T
    rays1 /= np.linalg.norm(rays1, axis=1, keepdims=True)
    rays2 /= np.linalg.norm(rays2, axis=1, keepdims=True)
    u, _, vt = np.linalg.svd(rays2.T @ rays1)
    rot = u @ np.diag([1.0, 1.0, np.linalg.det(u @ vt)]) @ vt
    proj = rays1 @ (k @ rot).T
    err = np.linalg.norm(proj[:, :2] / proj[:, 2:] - p2[keep], axis=1)
    return rot if np.median(err) < ROTATION_FIT_PIXELS else None


def estimate_camera_rotations(frames: list[np.ndarray], focal: float, image_size: tuple[int, int],
                              exclude_boxes: np.ndarray | None = None) -> np.ndarray:
    """World-to-camera rotations (T, 3, 3) of a frame sequence, R_0 = I (world = first camera)."""
    tracker = CameraRotationTracker(focal, image_size)
    rots = np.empty((len(frames), 3, 3))
    current = np.eye(3)
    for t, frame in enumerate(frames):
        box = None if exclude_boxes is None else exclude_boxes[t]
        current = tracker.step(frame, box) @ current
        rots[t] = current
    return rots
