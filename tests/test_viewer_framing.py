"""The 3D viewer's orbit camera (genmo.export.framing) keeps every frame's body in view."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genmo.body import DefaultBody
from genmo.export.framing import PHONE_ASPECT, VIEWER_FOV, fit_radius, orbit_direction, viewer_orbit
from genmo.motion.motion import Motion


def _in_view(points: np.ndarray, target: np.ndarray, alpha: float, beta: float, radius: float,
             aspect: float) -> np.ndarray:
    """Whether each point projects inside a Y-up orbit camera's view (vertical field of view VIEWER_FOV)."""
    d = orbit_direction(alpha, beta)
    eye = target + radius * d
    forward = -d
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    q = points - eye
    depth = q @ forward
    tan = np.tan(VIEWER_FOV / 2)
    return (depth > 0) & (np.abs(q @ right) <= depth * tan * aspect) & (np.abs(q @ up) <= depth * tan)


@pytest.fixture(scope="module")
def body() -> DefaultBody:
    return DefaultBody()


def _glide(metres: float, frames: int = 60) -> Motion:
    trans = np.zeros((frames, 3), np.float32)
    trans[:, 0] = np.linspace(-metres / 2, metres / 2, frames)
    return Motion(poses=np.zeros((frames, 72), np.float32), trans=trans, betas=np.zeros(10), fps=30.0)


def _vertices(motion: Motion, body: DefaultBody) -> np.ndarray:
    with torch.no_grad():
        return body(torch.from_numpy(motion.poses), None, torch.from_numpy(motion.trans)).vertices.numpy().reshape(-1, 3)


def test_fit_radius_is_the_tightest_radius_that_shows_every_point() -> None:
    rng = np.random.default_rng(0)
    points = rng.normal(size=(500, 3)) * [2.0, 1.0, 1.5]
    target = points.mean(0)
    radius = fit_radius(points, target, orbit_direction(90, 75), 0.7, margins=(1.0, 1.0))
    assert _in_view(points, target, 90, 75, radius * 1.0001, 0.7).all()
    assert not _in_view(points, target, 90, 75, radius * 0.98, 0.7).all()


def test_the_orbit_keeps_a_long_walk_in_a_phone_view_where_the_bounds_rule_does_not(body: DefaultBody) -> None:
    motion = _glide(5.0)
    alpha, beta, radius = viewer_orbit(motion, body)
    points = _vertices(motion, body)
    target = (points.min(0) + points.max(0)) / 2
    assert (alpha, beta) == (90.0, 75.0)
    assert _in_view(points, target, alpha, beta, radius, PHONE_ASPECT).all()
    babylon = 1.1 * np.linalg.norm(points.max(0) - points.min(0))  # the viewer's own distance
    assert not _in_view(points, target, alpha, beta, babylon, PHONE_ASPECT).all()


def test_a_standing_body_is_framed_close(body: DefaultBody) -> None:
    radius = viewer_orbit(_glide(0.0, 10), body)[2]
    assert 1.5 < radius < 4.0  # about a body's height from the camera, not a distant speck


def test_bad_framing_input_is_refused() -> None:
    with pytest.raises(ValueError, match="aspect"):
        fit_radius(np.zeros((3, 3)), np.zeros(3), orbit_direction(90, 75), 0.0)
    with pytest.raises(ValueError, match="margins"):
        fit_radius(np.zeros((3, 3)), np.zeros(3), orbit_direction(90, 75), 1.0, margins=(0.5, 1.0))
