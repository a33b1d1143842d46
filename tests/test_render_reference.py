"""Rendering gives the same pixels whichever PyOpenGL pyrender's resolution installs.

tests/data/render_reference.npz holds frames rendered with PyOpenGL 3.1.10 (the release the
Makefile used to force) before pyrender's pinned 3.1.0 was made to work (genmo/render/_osmesa_compat.py).
Regenerate it only on purpose:  python tests/test_render_reference.py --write
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import torch

os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")

REFERENCE = Path(__file__).resolve().parent / "data" / "render_reference.npz"
W, H = 160, 120


def reference_frames() -> dict[str, np.ndarray]:
    """Three frames: a front view without ground, a turned view with ground and shadow, an overlay."""
    from genmo.body import DefaultBody
    from genmo.body.skeleton import joint_index
    from genmo.render import BodyRenderer, FollowView, follow_camera_poses

    body = DefaultBody()
    pose = torch.zeros(72)
    pose[3 * joint_index("left_shoulder") + 2] = 1.2
    pose[3 * joint_index("right_knee")] = 0.8
    lift = -float(body.rest_vertices()[:, 1].min())
    verts = body(pose, trans=torch.tensor([0.0, lift, 0.0])).vertices.numpy()
    front = follow_camera_poses(verts.mean(0)[None], 30.0)[0]
    turned = follow_camera_poses(verts.mean(0)[None], 30.0, FollowView(azimuth_deg=30))[0]
    frames = {}
    with BodyRenderer(body.faces, body.num_vertices, W, H, ground=False) as r:
        frames["front"] = r.render(verts, front)
        background = np.full((H, W, 3), 90, np.uint8)
        frames["overlay"] = r.render_overlay(verts, np.eye(3), np.array([0.0, -0.9, 4.0]), 150.0, background)
    with BodyRenderer(body.faces, body.num_vertices, W, H, shadows=True) as r:
        frames["ground_shadow"] = r.render(verts, turned)
    return frames


def test_frames_match_the_pyopengl_3_1_10_reference() -> None:
    import OpenGL

    with np.load(REFERENCE, allow_pickle=False) as data:
        expected = {k: data[k] for k in data.files}
    frames = reference_frames()
    assert sorted(frames) == sorted(expected)
    for name, frame in frames.items():
        diff = np.abs(frame.astype(int) - expected[name].astype(int))
        assert frame.shape == expected[name].shape and diff.max() == 0, (
            f"{name}: {int((diff > 0).any(-1).sum())} pixels differ (max {diff.max()}) with PyOpenGL {OpenGL.__version__}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        raise SystemExit(__doc__)
    REFERENCE.parent.mkdir(exist_ok=True)
    np.savez_compressed(REFERENCE, **reference_frames())
