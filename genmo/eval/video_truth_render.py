"""Render a ground-truth motion as a video for the video path's accuracy (genmo.eval.video_truth).

The body mesh over the renderer's checkerboard ground (texture for the camera-rotation tracker),
seen by the truth camera. The open mannequin has no face, and BlazePose then takes a figure seen
from the front for one seen from behind (left and right swapped on most frames of a frontal clip),
so dark eyes and a mouth ride on the head: small meshes placed on the rest head's front surface
and moved with the head joint.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from genmo.eval.common import GroundTruth
from genmo.eval.video_truth import TRUTH_FPS, TruthCamera

HEAD = 15  # SMPL-24 head joint
# Face marks on the rest head: (x, y above the head joint, radii (x, y, z)) in metres; x is the body's left
FACE_MARKS = ((0.035, 0.045, (0.014, 0.014, 0.01)), (-0.035, 0.045, (0.014, 0.014, 0.01)),
              (0.0, -0.02, (0.03, 0.008, 0.01)))
FACE_COLOR = (0.08, 0.06, 0.05)


def front_surface(triangles: np.ndarray, x: float, y: float) -> float:
    """The largest z where the line through (x, y) along Z meets the triangles (F, 3, 3): the surface
    a camera on +Z sees there."""
    a, b, c = triangles[:, 0], triangles[:, 1], triangles[:, 2]
    e1, e2, p = (b - a)[:, :2], (c - a)[:, :2], np.array([x, y]) - a[:, :2]
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    ok = np.abs(det) > 1e-12
    det = np.where(ok, det, 1.0)
    u = (p[:, 0] * e2[:, 1] - p[:, 1] * e2[:, 0]) / det  # barycentric weights of b and c in the xy plane
    v = (e1[:, 0] * p[:, 1] - e1[:, 1] * p[:, 0]) / det
    inside = ok & (u >= 0) & (v >= 0) & (u + v <= 1)
    if not inside.any():
        raise ValueError(f"no surface at x={x:.3f}, y={y:.3f}")
    z = a[:, 2] + u * (b - a)[:, 2] + v * (c - a)[:, 2]
    return float(z[inside].max())


def face_mesh(body):
    """A pyrender mesh of the face marks in rest coordinates, each centred on the head's front surface."""
    import trimesh

    from genmo.render._gl import pyrender

    rest_j = body.rest_joints().numpy()
    triangles = body.rest_vertices().numpy()[body.faces]
    parts = []
    for x, dy, radii in FACE_MARKS:
        y = rest_j[HEAD, 1] + dy
        z = front_surface(triangles, x, y)
        mark = trimesh.creation.icosphere(subdivisions=2)
        mark.apply_scale(radii)
        mark.apply_translation([x, y, z])
        parts.append(mark)
    material = pyrender.MetallicRoughnessMaterial(baseColorFactor=(*FACE_COLOR, 1.0), metallicFactor=0.0,
                                                  roughnessFactor=0.9)
    return pyrender.Mesh.from_trimesh(trimesh.util.concatenate(parts), material=material, smooth=True)


def render_truth_video(body, gt: GroundTruth, camera: TruthCamera, path: str | Path, fps: float = TRUTH_FPS) -> Path:
    """Render a ground-truth motion as the body mesh with face marks seen by ``camera``, to an mp4."""
    from genmo.render.renderer import BodyRenderer, cv_extrinsics_to_gl_pose
    from genmo.render.video import write_mp4

    w, h = camera.image_size
    yfov = float(np.degrees(2 * np.arctan(h / 2 / camera.focal)))  # square pixels: fx = fy = focal
    rest = body.rest_joints().float()
    with torch.no_grad():
        out = body(torch.as_tensor(gt.local_rots, dtype=torch.float32), None,
                   torch.as_tensor(gt.root, dtype=torch.float32) - rest[0])
    verts, rots, joints = out.vertices.numpy(), out.global_rots[:, HEAD].numpy(), out.joints[:, HEAD].numpy()
    head_rest = rest[HEAD].numpy()
    with BodyRenderer(body.faces, int(body.weights.shape[0]), w, h, shadows=True) as renderer:
        face = renderer.scene.add(face_mesh(body))

        def frames():
            for v, rot, joint, r, t in zip(verts, rots, joints, camera.cam_R, camera.cam_t, strict=True):
                pose = np.eye(4)
                pose[:3, :3], pose[:3, 3] = rot, joint - rot @ head_rest  # rest head -> posed head
                renderer.scene.set_pose(face, pose)
                yield renderer.render(v, cv_extrinsics_to_gl_pose(r, t), yfov)

        write_mp4(frames(), fps, path)
    return Path(path)
