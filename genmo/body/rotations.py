"""Batched rotation conversions (torch): 6D, matrix, axis-angle, quaternion (w, x, y, z).

All functions act on the trailing dimensions and broadcast over any leading batch shape.
The 6D representation is the first two ROWS of the rotation matrix, flattened.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

_EPS = 1e-8


def _check_last(x: Tensor, shape: tuple[int, ...], name: str) -> None:
    if tuple(x.shape[-len(shape):]) != shape:
        raise ValueError(f"{name}: expected shape (..., {', '.join(map(str, shape))}), got {tuple(x.shape)}")


def rot6d_to_matrix(d6: Tensor) -> Tensor:
    """6D (two rows) -> rotation matrix by Gram-Schmidt. (..., 6) -> (..., 3, 3)."""
    _check_last(d6, (6,), "rot6d_to_matrix")
    a1, a2 = d6[..., :3], d6[..., 3:]
    b1 = torch.nn.functional.normalize(a1, dim=-1)
    b2 = torch.nn.functional.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack((b1, b2, b3), dim=-2)


def matrix_to_rot6d(m: Tensor) -> Tensor:
    """Rotation matrix -> 6D (first two rows). (..., 3, 3) -> (..., 6)."""
    _check_last(m, (3, 3), "matrix_to_rot6d")
    return m[..., :2, :].reshape(*m.shape[:-2], 6)


def axis_angle_to_matrix(aa: Tensor) -> Tensor:
    """Axis-angle (rotation vector) -> matrix by Rodrigues' formula. (..., 3) -> (..., 3, 3)."""
    _check_last(aa, (3,), "axis_angle_to_matrix")
    angle = aa.norm(dim=-1, keepdim=True)
    small = angle < 1e-6
    safe = torch.where(small, torch.ones_like(angle), angle)
    axis = aa / safe
    x, y, z = axis.unbind(-1)
    zero = torch.zeros_like(x)
    k = torch.stack((zero, -z, y, z, zero, -x, -y, x, zero), dim=-1).reshape(*aa.shape[:-1], 3, 3)
    s = torch.sin(angle)[..., None]
    c = torch.cos(angle)[..., None]
    eye = torch.eye(3, dtype=aa.dtype, device=aa.device).expand_as(k)
    rot = eye + s * k + (1 - c) * (k @ k)
    # First-order expansion for tiny angles keeps gradients finite.
    ax, ay, az = aa.unbind(-1)
    k_small = torch.stack((zero, -az, ay, az, zero, -ax, -ay, ax, zero), dim=-1).reshape_as(k)
    return torch.where(small[..., None], eye + k_small, rot)


def quaternion_to_matrix(q: Tensor) -> Tensor:
    """Quaternion (w, x, y, z), any norm -> matrix. (..., 4) -> (..., 3, 3)."""
    _check_last(q, (4,), "quaternion_to_matrix")
    q = q / q.norm(dim=-1, keepdim=True).clamp_min(_EPS)
    w, x, y, z = q.unbind(-1)
    m = torch.stack(
        (
            1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
            2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
            2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
        ),
        dim=-1,
    )
    return m.reshape(*q.shape[:-1], 3, 3)


def matrix_to_quaternion(m: Tensor) -> Tensor:
    """Rotation matrix -> unit quaternion (w, x, y, z) with w >= 0. (..., 3, 3) -> (..., 4)."""
    _check_last(m, (3, 3), "matrix_to_quaternion")
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    # Four candidate solutions; pick, per element, the one with the largest pivot (Shepperd).
    sq = torch.stack(
        (1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22), dim=-1
    ).clamp_min(0).sqrt()
    cands = torch.stack(
        (
            torch.stack((sq[..., 0] ** 2, m21 - m12, m02 - m20, m10 - m01), dim=-1),
            torch.stack((m21 - m12, sq[..., 1] ** 2, m10 + m01, m02 + m20), dim=-1),
            torch.stack((m02 - m20, m10 + m01, sq[..., 2] ** 2, m12 + m21), dim=-1),
            torch.stack((m10 - m01, m20 + m02, m21 + m12, sq[..., 3] ** 2), dim=-1),
        ),
        dim=-2,
    ) / (2 * sq[..., None].clamp_min(0.1))
    best = sq.argmax(dim=-1)
    q = torch.gather(cands, -2, best[..., None, None].expand(*best.shape, 1, 4)).squeeze(-2)
    q = q / q.norm(dim=-1, keepdim=True).clamp_min(_EPS)
    return torch.where(q[..., :1] < 0, -q, q)


def quaternion_to_axis_angle(q: Tensor) -> Tensor:
    """Quaternion (w, x, y, z) -> axis-angle with angle in [0, pi]. (..., 4) -> (..., 3)."""
    _check_last(q, (4,), "quaternion_to_axis_angle")
    q = q / q.norm(dim=-1, keepdim=True).clamp_min(_EPS)
    q = torch.where(q[..., :1] < 0, -q, q)
    xyz = q[..., 1:]
    sin_half = xyz.norm(dim=-1, keepdim=True)
    angle = 2 * torch.atan2(sin_half, q[..., :1])
    small = sin_half < 1e-6
    scale = torch.where(small, 2.0 / q[..., :1].clamp_min(_EPS), angle / sin_half.clamp_min(_EPS))
    return xyz * scale


def axis_angle_to_quaternion(aa: Tensor) -> Tensor:
    """Axis-angle -> unit quaternion (w, x, y, z). (..., 3) -> (..., 4)."""
    _check_last(aa, (3,), "axis_angle_to_quaternion")
    angle = aa.norm(dim=-1, keepdim=True)
    half = angle / 2
    small = angle < 1e-6
    scale = torch.where(small, 0.5 - angle**2 / 48, torch.sin(half) / angle.clamp_min(_EPS))
    return torch.cat((torch.cos(half), aa * scale), dim=-1)


def matrix_to_axis_angle(m: Tensor) -> Tensor:
    """Rotation matrix -> axis-angle. (..., 3, 3) -> (..., 3)."""
    return quaternion_to_axis_angle(matrix_to_quaternion(m))


def axis_angle_to_rot6d(aa: Tensor) -> Tensor:
    """Axis-angle -> 6D. (..., 3) -> (..., 6)."""
    return matrix_to_rot6d(axis_angle_to_matrix(aa))


def rot6d_to_axis_angle(d6: Tensor) -> Tensor:
    """6D -> axis-angle. (..., 6) -> (..., 3)."""
    return matrix_to_axis_angle(rot6d_to_matrix(d6))


def rotation_about_y(angle: Tensor) -> Tensor:
    """Rotation matrices about the vertical (Y) axis. (...) -> (..., 3, 3)."""
    c, s = torch.cos(angle), torch.sin(angle)
    one, zero = torch.ones_like(angle), torch.zeros_like(angle)
    return torch.stack((c, zero, s, zero, one, zero, -s, zero, c), dim=-1).reshape(*angle.shape, 3, 3)


def heading_angle(m: Tensor) -> Tensor:
    """Yaw about +Y of the rotated +Z axis (the facing direction), in radians. (..., 3, 3) -> (...)."""
    forward = m[..., :, 2]
    return torch.atan2(forward[..., 0], forward[..., 2])


def euler_to_matrix_np(angles: np.ndarray, order: str, degrees: bool = True) -> np.ndarray:
    """Intrinsic Euler angles in the given axis order (BVH convention, e.g. 'ZXY': R = Rz Rx Ry)."""
    from scipy.spatial.transform import Rotation

    return Rotation.from_euler(order.upper(), np.asarray(angles, dtype=np.float64).reshape(-1, 3), degrees=degrees).as_matrix().reshape(*np.shape(angles)[:-1], 3, 3)


def matrix_to_euler_np(m: np.ndarray, order: str, degrees: bool = True) -> np.ndarray:
    """Rotation matrices -> intrinsic Euler angles in the given axis order (inverse of euler_to_matrix_np)."""
    from scipy.spatial.transform import Rotation

    m = np.asarray(m, dtype=np.float64)
    return Rotation.from_matrix(m.reshape(-1, 3, 3)).as_euler(order.upper(), degrees=degrees).reshape(*m.shape[:-2], 3)
