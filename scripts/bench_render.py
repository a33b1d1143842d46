"""Measure BodyRenderer speed: 640x480, default body walking, with and without shadows.

    OMP_NUM_THREADS=1 python scripts/bench_render.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genmo.body import DefaultBody  # noqa: E402
from genmo.render import BodyRenderer, follow_camera_poses  # noqa: E402


def main(frames: int = 90) -> None:
    body = DefaultBody()
    t = np.arange(frames) / 30.0
    pose = torch.zeros(frames, 72)
    pose[:, 3] = torch.tensor(0.5 * np.sin(2 * np.pi * t))
    pose[:, 6] = -pose[:, 3]
    pose[:, 16 * 3 + 2], pose[:, 17 * 3 + 2] = -1.2, 1.2
    trans = torch.zeros(frames, 3)
    trans[:, 1], trans[:, 2] = 1.3, torch.tensor(1.2 * t)
    start = time.perf_counter()
    with torch.no_grad():
        verts = body(pose, trans=trans).vertices.numpy()
    skin = time.perf_counter() - start
    cams = follow_camera_poses(verts.mean(1), 30.0)
    print(f"skinning: {frames / skin:.0f} frames/s ({body.num_vertices} vertices)")
    for shadows in (False, True):
        with BodyRenderer(body.faces, body.num_vertices, 640, 480, shadows=shadows) as renderer:
            renderer.render(verts[0], cams[0])
            wall, cpu = time.perf_counter(), time.process_time()
            for v, cam in zip(verts, cams, strict=True):
                renderer.render(v, cam)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(f"render shadows={shadows}: {frames / wall:.1f} fps wall, {1000 * cpu / frames:.1f} ms CPU per frame")


if __name__ == "__main__":
    main()
