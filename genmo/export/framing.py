"""Where a GLB viewer's orbit camera must sit so the whole animated body stays in view.

The studio shows motion.glb in ``gr.Model3D`` (Babylon.js): an orbit camera around the centre of the
animation's bounds, with a fixed vertical field of view; on its own it sets the distance from the
bounds' diagonal, which a tall, narrow phone view or a body walking towards the camera outgrows (the
head or the walk leaves the frame). ``viewer_orbit`` gives the distance at which every frame's
vertices project inside the view for the narrowest view it is asked to fit.
"""

from __future__ import annotations

import numpy as np
import torch

from genmo.body.model import BodyModel
from genmo.motion.motion import Motion

VIEWER_FOV = 0.8  # rad, vertical: Babylon's camera default (gr.Model3D keeps it)
VIEWER_ANGLES = (90.0, 75.0)  # alpha, beta (degrees): Babylon viewer's default orbit, in front and 15 degrees above
PHONE_ASPECT = 0.7  # width / height of the 420 px high viewer on a 360 px wide phone, its narrowest layout
MAX_FRAMES = 30  # frames sampled evenly over the motion (the margins cover what moves between them)
# Free border (across, up): the viewer's label sits over the top 35 of its 420 px, so the body keeps
# the top tenth of the view clear.
MARGINS = (1.1, 1.25)


def orbit_direction(alpha_deg: float, beta_deg: float) -> np.ndarray:
    """Unit vector from the orbit target to the camera (Babylon's ArcRotateCamera: Y up, beta from +Y)."""
    a, b = np.radians(alpha_deg), np.radians(beta_deg)
    return np.array([np.cos(a) * np.sin(b), np.cos(b), np.sin(a) * np.sin(b)])


def fit_radius(points: np.ndarray, target: np.ndarray, direction: np.ndarray, aspect: float,
               fov: float = VIEWER_FOV, margins: tuple[float, float] = MARGINS) -> float:
    """Smallest orbit radius at which every point (N, 3) lies in the view shrunk by ``margins`` (across, up).

    A point q (relative to the target) at lateral offsets x, y and depth r - q.d is in view when
    |x| <= (r - q.d) tan(hfov / 2) and |y| <= (r - q.d) tan(vfov / 2), so r is the largest q.d + |x| / tan.
    """
    margin_h, margin_v = margins
    if not (aspect > 0 and 0 < fov < np.pi and margin_h >= 1 and margin_v >= 1):
        raise ValueError(f"fit_radius: need aspect > 0, 0 < fov < pi, margins >= 1; got {aspect}, {fov}, {margins}")
    d = np.asarray(direction, dtype=np.float64)
    right = np.cross([0.0, 1.0, 0.0], d)
    right /= np.linalg.norm(right)
    up = np.cross(d, right)
    q = np.asarray(points, dtype=np.float64).reshape(-1, 3) - np.asarray(target, dtype=np.float64)
    tan_v = np.tan(fov / 2.0) / margin_v
    tan_h = np.tan(fov / 2.0) * aspect / margin_h
    need = q @ d + np.maximum(np.abs(q @ right) / tan_h, np.abs(q @ up) / tan_v)
    return float(need.max())


def viewer_orbit(motion: Motion, body: BodyModel | None = None, aspect: float = PHONE_ASPECT,
                 angles: tuple[float, float] = VIEWER_ANGLES) -> tuple[float, float, float]:
    """(alpha, beta, radius) for ``gr.Model3D(camera_position=...)`` that keeps the animated body in view.

    The viewer orbits the centre of the bounds of the animation's vertices (taken over up to
    MAX_FRAMES frames here); a view wider than ``aspect`` shows more around the body, never less.
    """
    if motion.num_frames == 0:
        raise ValueError("viewer_orbit: the motion has no frames")
    if body is None:
        from genmo.body import load_body

        body = load_body()
    frames = np.unique(np.linspace(0, motion.num_frames - 1, min(MAX_FRAMES, motion.num_frames)).round().astype(int))
    with torch.no_grad():
        verts = body(torch.from_numpy(motion.poses[frames]), torch.from_numpy(motion.betas),
                     torch.from_numpy(motion.trans[frames])).vertices.numpy().reshape(-1, 3)
    target = (verts.min(axis=0) + verts.max(axis=0)) / 2.0
    radius = fit_radius(verts, target, orbit_direction(*angles), aspect)
    return float(angles[0]), float(angles[1]), round(radius, 3)
