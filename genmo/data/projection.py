"""Synthetic 2D observations for estimation training: random virtual cameras looking at the
person, SMPL-24 joints -> COCO-17 keypoints with noise, dropouts and truncation, bounding
boxes and camera angular velocity. Cheap enough to run per training window.

Cameras are world-to-camera extrinsics in OpenCV axes (x right, y down, z forward):
x_cam = R x_world + t.
"""

from __future__ import annotations

import numpy as np

from genmo.body.coco import coco17_from_smpl

_SWAP = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)


def look_at(eye: np.ndarray, target: np.ndarray, roll: np.ndarray | float = 0.0) -> np.ndarray:
    """World-to-camera rotations (..., 3, 3), OpenCV axes, camera at eye looking at target (Y up)."""
    eye, target = np.asarray(eye, dtype=np.float64), np.asarray(target, dtype=np.float64)
    z = target - eye
    z /= np.linalg.norm(z, axis=-1, keepdims=True).clip(1e-9)
    world_down = np.broadcast_to(np.array([0.0, -1.0, 0.0]), z.shape)
    x = np.cross(world_down, z)
    bad = np.linalg.norm(x, axis=-1) < 1e-6
    x[bad] = np.array([1.0, 0.0, 0.0])
    x /= np.linalg.norm(x, axis=-1, keepdims=True)
    y = np.cross(z, x)
    r = np.stack((x, y, z), axis=-2)  # rows = camera axes in world
    roll = np.asarray(roll, dtype=np.float64)
    c, s = np.cos(roll), np.sin(roll)
    zero, one = np.zeros_like(c), np.ones_like(c)
    rz = np.stack((c, -s, zero, s, c, zero, zero, zero, one), axis=-1).reshape(*np.shape(roll), 3, 3)
    return rz @ r


def intrinsics(focal: float, width: int, height: int) -> np.ndarray:
    """Pinhole K (3, 3) with the principal point at the image centre."""
    return np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]], dtype=np.float64)


def project(points: np.ndarray, cam_r: np.ndarray, cam_t: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project world points (T, P, 3) with per-frame R (T, 3, 3), t (T, 3): pixels (T, P, 2), depth (T, P)."""
    cam = np.einsum("tab,tpb->tpa", cam_r, points) + cam_t[:, None, :]
    depth = cam[..., 2]
    uv = np.einsum("ab,tpb->tpa", k, cam)
    return uv[..., :2] / np.where(np.abs(uv[..., 2:]) < 1e-6, 1e-6, uv[..., 2:]), depth


def rot6d_rows(m: np.ndarray) -> np.ndarray:
    """6D of rotation matrices (first two rows). (..., 3, 3) -> (..., 6)."""
    return m[..., :2, :].reshape(*m.shape[:-2], 6)


def camera_angvel(cam_r: np.ndarray) -> np.ndarray:
    """6D of R[t+1] R[t]^T (T, 6); the last value is repeated (static camera -> identity 6D)."""
    rel = cam_r[1:] @ np.swapaxes(cam_r[:-1], -1, -2)
    if len(rel) == 0:
        rel = np.eye(3)[None]
    rel = np.concatenate([rel, rel[-1:]], axis=0)[: len(cam_r)]
    return rot6d_rows(rel)


def random_camera(joints: np.ndarray, rng: np.random.Generator, width: int = 1000, height: int = 1000,
                  moving_prob: float = 0.5) -> dict[str, np.ndarray]:
    """A random static or moving camera looking at the person (joints (T, 24, 3) world).

    Varies focal length (35-80 degree field of view), distance (2.5-9 m), height (0.3-2.5 m),
    azimuth (any), roll (small). Moving cameras orbit/dolly and pan to follow the pelvis.
    Returns cam_R (T, 3, 3), cam_t (T, 3), K (3, 3), image_size (2,) = (width, height).
    """
    t_len = len(joints)
    fov = np.radians(rng.uniform(35, 80))
    focal = 0.5 * width / np.tan(fov / 2)
    pelvis = joints[:, 0]
    centre = pelvis.mean(0)
    extent = np.ptp(pelvis[:, [0, 2]], axis=0).max() if t_len > 1 else 0.0
    # Far enough that a 2 m person (plus the path) spans about 30-90% of the image height.
    frac = rng.uniform(0.3, 0.9)
    dist = np.clip(2.0 * focal / (frac * height) + 0.5 * extent, 2.5, 12.0)
    azim = rng.uniform(-np.pi, np.pi)
    cam_h = rng.uniform(0.3, 2.5)
    roll = rng.normal(0, np.radians(3))
    moving = rng.random() < moving_prob
    if moving:
        s = np.linspace(0, 1, t_len)
        azim_t = azim + rng.uniform(-0.6, 0.6) * s
        dist_t = dist * (1 + rng.uniform(-0.2, 0.2) * s)
        h_t = cam_h + rng.uniform(-0.3, 0.3) * s
        follow = pelvis.copy()
        follow[:, 1] = centre[1]
        w = rng.uniform(0.5, 1.0)
        target = w * follow + (1 - w) * centre
        anchor = target
    else:
        azim_t = np.full(t_len, azim)
        dist_t = np.full(t_len, dist)
        h_t = np.full(t_len, cam_h)
        target = np.repeat(centre[None], t_len, 0)
        anchor = target
    eye = np.stack([anchor[:, 0] + dist_t * np.sin(azim_t), h_t, anchor[:, 2] + dist_t * np.cos(azim_t)], axis=-1)
    look = target + np.array([0.0, rng.uniform(-0.3, 0.3), 0.0])
    cam_r = look_at(eye, look, np.full(t_len, roll))
    cam_t = -np.einsum("tab,tb->ta", cam_r, eye)
    return {"cam_R": cam_r.astype(np.float32), "cam_t": cam_t.astype(np.float32),
            "K": intrinsics(focal, width, height).astype(np.float32), "image_size": np.array([width, height], np.float32)}


def observe_2d(joints: np.ndarray, rng: np.random.Generator, camera: dict | None = None, head_rots: np.ndarray | None = None,
               noise_px: float = 2.0, drop_prob: float = 0.03, width: int = 1000, height: int = 1000) -> dict[str, np.ndarray]:
    """2D observation of a motion (joints (T, 24, 3)) through a random (or given) camera.

    Returns cam_R, cam_t, K, image_size, keypoints (T, 17, 3) = pixels + confidence (0 for
    missing: dropped, behind the camera or outside the image), bbox (T, 4) xyxy from the
    visible keypoints (zeros when fewer than 2 are visible), cam_angvel (T, 6), points3d
    (T, 17, 3) the clean COCO-17 world points.
    """
    cam = camera or random_camera(joints, rng, width, height)
    w, h = (float(v) for v in cam["image_size"])
    pts = coco17_from_smpl(joints, head_rots)
    uv, depth = project(pts, cam["cam_R"].astype(np.float64), cam["cam_t"].astype(np.float64), cam["K"].astype(np.float64))
    t_len = len(joints)
    # Noise: per-sequence bias + slow drift + jitter (pixels, scaled with the person's size).
    scale = max(noise_px, 0.0)
    bias = rng.normal(0, scale, (1, 17, 2))
    drift = np.cumsum(rng.normal(0, scale * 0.1, (t_len, 17, 2)), axis=0)
    drift -= drift.mean(0, keepdims=True)
    noisy = uv + bias + drift + rng.normal(0, scale, uv.shape)
    conf = np.clip(rng.normal(0.9, 0.07, (t_len, 17)), 0.5, 1.0)
    visible = (depth > 0.3) & (noisy[..., 0] >= 0) & (noisy[..., 0] < w) & (noisy[..., 1] >= 0) & (noisy[..., 1] < h)
    visible &= rng.random((t_len, 17)) >= drop_prob
    if t_len > 10 and rng.random() < 0.3:  # a span with the legs occluded
        a = int(rng.integers(0, t_len - 5))
        visible[a:a + int(rng.integers(5, 30)), 13:17] = False
    if rng.random() < 0.002:  # rare left/right swap of the detector
        noisy = noisy[:, list(_SWAP)]
    kp = np.concatenate([noisy, conf[..., None]], axis=-1)
    kp[~visible] = 0.0
    bbox = np.zeros((t_len, 4))
    for f in range(t_len):
        v = visible[f]
        if v.sum() >= 2:
            lo, hi = noisy[f, v].min(0), noisy[f, v].max(0)
            pad = 0.1 * (hi - lo)
            bbox[f] = [max(lo[0] - pad[0], 0), max(lo[1] - pad[1], 0), min(hi[0] + pad[0], w), min(hi[1] + pad[1], h)]
    return {**cam, "keypoints": kp.astype(np.float32), "bbox": bbox.astype(np.float32),
            "cam_angvel": camera_angvel(cam["cam_R"].astype(np.float64)).astype(np.float32),
            "points3d": pts.astype(np.float32)}
