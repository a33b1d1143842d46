"""Resampling motion in time: rotations by quaternion slerp, positions and other values linearly.

Used to turn the model's MODEL_FPS output into the timeline's output rate, and by the data
readers to bring motion capture to MODEL_FPS.
"""

from __future__ import annotations

import numpy as np

from genmo.constants import MODEL_FPS


def slerp_resample(
    local_rots: np.ndarray, root: np.ndarray, src_fps: float, dst_fps: float = MODEL_FPS, src_times: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Resample rotations (N, J, 3, 3) by quaternion slerp and positions (N, 3) linearly.

    ``src_times`` (N,) seconds, increasing, for sources with uneven frame durations.
    """
    from scipy.spatial.transform import Rotation

    n = local_rots.shape[0]
    if n < 2 or (src_times is None and abs(src_fps - dst_fps) < 1e-3):
        return local_rots, root
    times = np.arange(n) / src_fps if src_times is None else np.asarray(src_times, dtype=np.float64)
    m = int(np.floor((times[-1] - times[0]) * dst_fps + 1e-6)) + 1
    t = np.interp(times[0] + np.arange(m) / dst_fps, times, np.arange(n))
    i0 = np.clip(np.floor(t).astype(int), 0, n - 2)
    alpha = (t - i0)[:, None]
    j = local_rots.shape[1]
    q = Rotation.from_matrix(local_rots.reshape(-1, 3, 3)).as_quat().reshape(n, j, 4)
    q0, q1 = q[i0], q[i0 + 1]
    dot = (q0 * q1).sum(-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)
    dot = np.abs(dot).clip(-1, 1)
    theta = np.arccos(dot)
    sin = np.sin(theta)
    a = alpha[:, None]
    w0 = np.where(sin > 1e-6, np.sin((1 - a) * theta) / np.maximum(sin, 1e-9), 1 - a)
    w1 = np.where(sin > 1e-6, np.sin(a * theta) / np.maximum(sin, 1e-9), a)
    qi = w0 * q0 + w1 * q1
    rots = Rotation.from_quat(qi.reshape(-1, 4)).as_matrix().reshape(m, j, 3, 3).astype(np.float32)
    pos = ((1 - alpha) * root[i0] + alpha * root[i0 + 1]).astype(np.float32)
    return rots, pos


def resample_linear(values: np.ndarray, src_fps: float, dst_fps: float) -> np.ndarray:
    """Per-frame values (N, ...) at ``src_fps`` interpolated linearly to ``dst_fps`` over the same span."""
    if src_fps == dst_fps or len(values) < 2:
        return values
    n = int(np.floor((len(values) - 1) * dst_fps / src_fps + 1e-6)) + 1
    t = np.arange(n) * src_fps / dst_fps
    flat = values.reshape(len(values), -1)
    out = np.stack([np.interp(t, np.arange(len(values)), flat[:, i]) for i in range(flat.shape[1])], axis=1)
    return out.reshape(n, *values.shape[1:]).astype(np.float32)
