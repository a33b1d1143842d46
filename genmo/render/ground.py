"""The ground plane (y = 0) painted with one perspective warp: a checkerboard fading into the backdrop.

Shading the ground in OSMesa's software rasteriser cost more than the body itself (it covers half
the image). The plane maps to the image by a homography, so a pre-drawn checkerboard texture is
warped with OpenCV instead. The soft shadow is the body's vertices projected along the light onto
the plane, splatted into the image and blurred.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np


class GroundPainter:
    """Paints the y = 0 plane for a pinhole camera given as an OpenGL camera-to-world pose."""

    def __init__(
        self,
        width: int,
        height: int,
        colors: tuple[tuple[float, float, float], tuple[float, float, float]],
        background: tuple[float, float, float],
        tile: float = 0.5,
        radius: float = 16.0,
        resolution: float = 0.02,
    ) -> None:
        self.width, self.height, self.tile = width, height, tile
        self.radius, self.resolution = radius, resolution
        self._background = tuple(float(c) * 255.0 for c in background)
        self._texture = _checker_texture(tuple(map(tuple, colors)), tuple(background), tile, radius, resolution)
        self._backdrop = np.empty((height, width, 3), np.uint8)
        self._backdrop[:] = self._background
        self._u, self._v = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))

    def _camera_rays(self, camera_pose: np.ndarray, yfov: float) -> np.ndarray:
        """(3, 3) matrix taking homogeneous pixels (u, v, 1) to world ray directions."""
        focal = (self.height / 2.0) / np.tan(yfov / 2.0)
        pixel_to_cam = np.array(
            [[1.0 / focal, 0.0, -self.width / 2.0 / focal], [0.0, -1.0 / focal, self.height / 2.0 / focal], [0.0, 0.0, -1.0]]
        )
        return camera_pose[:3, :3] @ pixel_to_cam

    def paint(self, camera_pose: np.ndarray, yfov: float) -> np.ndarray:
        """RGB uint8 image (H, W, 3) of the ground and backdrop.

        Only the rows that see some ground are warped; the per-pixel horizon test runs only on the
        rows the horizon crosses (the ray's y component is linear in u and v, so each row's extremes
        are at its two ends).
        """
        camera_pose = np.asarray(camera_pose, dtype=np.float64)
        rays = self._camera_rays(camera_pose, yfov)
        ox, oy, oz = camera_pose[:3, 3]
        if oy <= 0:
            return self._backdrop.copy()
        # w = ray y component per pixel; at or above the horizon (w > -1e-4) the warp is meaningless
        rows = self._v[:, 0]
        ends = rays[1, 0] * self._u[0, [0, -1]][None, :] + rays[1, 1] * rows[:, None] + rays[1, 2]
        lo, hi = ends.min(axis=1), ends.max(axis=1)
        margin = 1e-9  # rounding slack: rows this close to the horizon get the exact per-pixel test
        ground_rows = np.flatnonzero(lo <= -1e-4 + margin)
        if len(ground_rows) == 0:
            return self._backdrop.copy()
        r0, r1 = int(ground_rows[0]), int(ground_rows[-1]) + 1
        image = np.empty((self.height, self.width, 3), np.uint8)
        image[:r0], image[r1:] = self._backdrop[:r0], self._backdrop[r1:]
        step = 2 * self.tile  # keep the pattern fixed in the world while the texture follows the camera
        cx, cz = np.round(np.array([ox, oz]) / step) * step
        # ground hit of a pixel ray: X = (ox d_y - oy d_x) / d_y, Z = (oz d_y - oy d_z) / d_y
        plane = np.stack([ox * rays[1] - oy * rays[0], oz * rays[1] - oy * rays[2], rays[1]])
        to_texture = np.array(
            [[1 / self.resolution, 0, (self.radius - cx) / self.resolution],
             [0, 1 / self.resolution, (self.radius - cz) / self.resolution], [0, 0, 1]]
        )
        band = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, float(r0)], [0.0, 0.0, 1.0]])  # output rows r0..r1
        cv2.warpPerspective(
            self._texture, to_texture @ plane @ band, (self.width, r1 - r0), dst=image[r0:r1],
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT, borderValue=self._background,
        )
        crossing = np.flatnonzero(hi[r0:r1] > -1e-4 - margin) + r0
        if len(crossing):
            w = rays[1, 0] * self._u[crossing] + rays[1, 1] * self._v[crossing] + rays[1, 2]
            image[crossing] = np.where((w > -1e-4)[..., None], self._backdrop[crossing], image[crossing])
        return image

    def _shadow_patch(
        self, vertices: np.ndarray, light_dir: np.ndarray, camera_pose: np.ndarray, yfov: float, blur_px: float
    ) -> tuple[slice, slice, np.ndarray] | None:
        """The blurred shadow's bounding rows, columns and strengths (float32), or None when none is seen."""
        light_dir = np.asarray(light_dir, dtype=np.float64)
        camera_pose = np.asarray(camera_pose, dtype=np.float64)
        pts = np.asarray(vertices, dtype=np.float64)
        pts = pts[pts[:, 1] > -0.05]
        if len(pts) == 0 or light_dir[1] >= 0:
            return None
        onto = pts - (pts[:, 1] / light_dir[1])[:, None] * light_dir
        cam = (onto - camera_pose[:3, 3]) @ camera_pose[:3, :3]
        cam = cam[cam[:, 2] < -1e-3]
        focal = (self.height / 2.0) / np.tan(yfov / 2.0)
        u = (focal * cam[:, 0] / -cam[:, 2] + self.width / 2.0).astype(np.int64)
        v = (self.height / 2.0 - focal * cam[:, 1] / -cam[:, 2]).astype(np.int64)
        keep = (u >= 0) & (u < self.width) & (v >= 0) & (v < self.height)
        if not keep.any():
            return None
        u, v = u[keep], v[keep]
        pad = int(4 * blur_px) + 3
        r0, r1 = max(v.min() - pad, 0), min(v.max() + pad + 1, self.height)
        c0, c1 = max(u.min() - pad, 0), min(u.max() + pad + 1, self.width)
        patch = np.zeros((r1 - r0, c1 - c0), np.float32)
        patch[v - r0, u - c0] = 1.0
        patch = cv2.dilate(patch, np.ones((5, 5), np.uint8))
        return slice(r0, r1), slice(c0, c1), cv2.GaussianBlur(patch, (0, 0), blur_px)

    def shadow(
        self, vertices: np.ndarray, light_dir: np.ndarray, camera_pose: np.ndarray, yfov: float, blur_px: float = 5.0
    ) -> np.ndarray:
        """Shadow strength (H, W) float32 in 0..1 of ``vertices`` cast along ``light_dir`` onto y = 0."""
        mask = np.zeros((self.height, self.width), np.float32)
        found = self._shadow_patch(vertices, light_dir, camera_pose, yfov, blur_px)
        if found is not None:
            rows, cols, patch = found
            mask[rows, cols] = patch
        return mask

    def darken(self, image: np.ndarray, vertices: np.ndarray, light_dir: np.ndarray, camera_pose: np.ndarray,
               yfov: float, strength: float, blur_px: float = 5.0) -> np.ndarray:
        """Darken ``image`` (H, W, 3) uint8 in place by ``strength`` x the shadow, touching only its bounding box."""
        found = self._shadow_patch(vertices, light_dir, camera_pose, yfov, blur_px)
        if found is not None:
            rows, cols, patch = found
            image[rows, cols] = (image[rows, cols] * (1.0 - strength * patch[..., None])).astype(np.uint8)
        return image


@functools.lru_cache(maxsize=4)
def _checker_texture(colors: tuple[tuple[float, float, float], tuple[float, float, float]],
                     background: tuple[float, float, float], tile: float, radius: float, resolution: float) -> np.ndarray:
    """Checkerboard (texels of ``resolution`` m) over a square of half-size ``radius``, fading to the backdrop.

    Built once per process and argument set (a 1600 x 1600 texture took 0.15-1 s, per render); read-only.
    """
    size = int(round(2 * radius / resolution))
    coords = (np.arange(size) + 0.5) * resolution - radius
    x, z = np.meshgrid(coords, coords)
    parity = (np.floor(x / tile) + np.floor(z / tile)).astype(np.int64) & 1
    tex = (np.asarray(colors, dtype=np.float32) * 255.0)[parity]
    fade = np.clip((radius - np.hypot(x, z)) / (0.45 * radius), 0.0, 1.0)[..., None]
    tex = tex * fade + np.asarray(background, dtype=np.float32) * 255.0 * (1.0 - fade)
    tex = np.round(tex).astype(np.uint8)
    tex.flags.writeable = False
    return tex
