"""Render docs/images/body_tpose.png and docs/images/body_walk.png with the default body."""

from __future__ import annotations

import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch
from scipy.spatial.transform import Rotation

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from genmo.body import DefaultBody  # noqa: E402
from genmo.body.skeleton import joint_index  # noqa: E402
from genmo.render import BodyRenderer, FollowView, follow_camera_poses  # noqa: E402


def _aa(*steps: tuple[str, float]) -> np.ndarray:
    """Axis-angle of rotations applied in order, each about a world axis ('x', 'y', 'z')."""
    rot = Rotation.identity()
    for axis, angle in steps:
        rot = Rotation.from_euler(axis, angle) * rot
    return rot.as_rotvec()


def walking_pose() -> np.ndarray:
    """Mid-stride: left leg and right arm forward, right leg and left arm back (body faces +Z)."""
    angles = {
        "pelvis": _aa(("y", 0.12)),
        "left_hip": _aa(("x", -0.45)),
        "left_knee": _aa(("x", 0.12)),
        "left_ankle": _aa(("x", 0.1)),
        "right_hip": _aa(("x", 0.35)),
        "right_knee": _aa(("x", 0.55)),
        "right_ankle": _aa(("x", -0.15)),
        "spine1": _aa(("y", -0.08)),
        "spine3": _aa(("y", -0.1)),
        "left_shoulder": _aa(("z", -1.3), ("x", 0.4)),
        "left_elbow": _aa(("y", -0.35)),
        "right_shoulder": _aa(("z", 1.3), ("x", -0.45)),
        "right_elbow": _aa(("y", 0.6)),
    }
    pose = np.zeros(72, np.float32)
    for name, aa in angles.items():
        pose[3 * joint_index(name) : 3 * joint_index(name) + 3] = aa
    return pose


def main() -> None:
    body = DefaultBody()
    out_dir = REPO / "docs" / "images"
    out_dir.mkdir(parents=True, exist_ok=True)
    with BodyRenderer(body.faces, body.num_vertices, 640, 480, shadows=True) as renderer:
        for name, pose, azimuth in (("body_tpose", np.zeros(72, np.float32), 0.0), ("body_walk", walking_pose(), 30.0)):
            verts = body(torch.from_numpy(pose)).vertices.numpy()
            verts[:, 1] -= verts[:, 1].min()  # stand on the ground
            view = FollowView(azimuth_deg=azimuth)
            cam = follow_camera_poses(verts.mean(0)[None], 30.0, view)[0]
            iio.imwrite(out_dir / f"{name}.png", renderer.render(verts, cam, view.yfov_deg))
            print(out_dir / f"{name}.png")


if __name__ == "__main__":
    main()
