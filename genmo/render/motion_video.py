"""Render a whole motion (SMPL poses, translation, shape) to an MP4 with a body mesh."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genmo.body.model import BodyModel
from genmo.constants import MODEL_FPS
from genmo.render.renderer import BodyRenderer, FollowView, follow_camera_poses
from genmo.render.video import write_mp4

CHUNK = 64


def _field(motion: Any, key: str) -> Any:
    if isinstance(motion, Mapping):
        return motion.get(key)
    return getattr(motion, key, None)


def motion_vertices(motion: Any, body: BodyModel, chunk: int = CHUNK) -> Iterator[np.ndarray]:
    """Posed vertices (V, 3) per frame of a Motion (or mapping with poses, trans, betas), in chunks."""
    poses = np.asarray(_field(motion, "poses"), dtype=np.float32)
    trans = np.asarray(_field(motion, "trans"), dtype=np.float32)
    betas = _field(motion, "betas")
    betas = torch.zeros(10) if betas is None else torch.as_tensor(np.asarray(betas, dtype=np.float32).reshape(-1))
    if poses.ndim != 2 or poses.shape[1] != 72 or trans.shape != (len(poses), 3) or len(poses) == 0:
        raise ValueError(f"motion: expected poses (N, 72) and trans (N, 3), got {poses.shape} and {trans.shape}")
    with torch.no_grad():
        for start in range(0, len(poses), chunk):
            out = body(torch.from_numpy(poses[start : start + chunk]), betas, torch.from_numpy(trans[start : start + chunk]))
            yield from out.vertices.numpy()


def render_motion(
    motion: Any,
    body: BodyModel | None,
    path: str | Path,
    *,
    width: int = 640,
    height: int = 480,
    fps: float | None = None,
    shadows: bool = True,
    view: FollowView | None = None,
    camera: str = "follow",
    focal: float | None = None,
    background: Iterable[np.ndarray] | None = None,
    audio_path: str | Path | None = None,
    audio_offset: float = 0.0,
    on_frame: Callable[[int, int], None] | None = None,
) -> int:
    """Render ``motion`` (a Motion, or a mapping with poses, trans, betas, fps) to an MP4; return frames written.

    camera="follow": a smoothed camera tracks the body over a checkerboard ground.
    camera="motion": the motion's own cam_R / cam_t (world-to-camera, OpenCV) with ``focal`` pixels,
    alpha-blended over ``background`` frames (e.g. the source video) or a plain backdrop.
    ``on_frame(index, total)`` runs before each frame is drawn (progress; an exception it raises,
    e.g. a cancellation, stops the render and the encoder).
    """
    if body is None:
        from genmo.body import load_body

        body = load_body()
    fps = float(fps or _field(motion, "fps") or MODEL_FPS)
    if camera not in ("follow", "motion"):
        raise ValueError(f"camera must be 'follow' or 'motion', got {camera!r}")
    poses = np.asarray(_field(motion, "poses"))
    renderer = BodyRenderer(body.faces, int(body.weights.shape[0]), width, height, shadows=shadows)
    try:
        if camera == "follow":
            view = view or FollowView()
            with torch.no_grad():
                joints = body(torch.as_tensor(poses, dtype=torch.float32),
                              _field(motion, "betas") if _field(motion, "betas") is not None else None,
                              torch.as_tensor(np.asarray(_field(motion, "trans"), dtype=np.float32)),
                              with_vertices=False).joints.numpy()
            cams = follow_camera_poses(joints[:, 0], fps, view)
            frames = (renderer.render(v, cam, view.yfov_deg) for v, cam in zip(motion_vertices(motion, body), cams, strict=True))
        else:
            cam_R, cam_t = _field(motion, "cam_R"), _field(motion, "cam_t")
            if cam_R is None or cam_t is None or focal is None:
                raise ValueError("camera='motion' needs the motion's cam_R and cam_t and a focal length")
            backdrop = np.full((height, width, 3), 240, np.uint8)
            images = iter(background) if background is not None else None
            frames = (
                renderer.render_overlay(v, r, t, focal, next(images, backdrop) if images is not None else backdrop)
                for v, r, t in zip(motion_vertices(motion, body), np.asarray(cam_R), np.asarray(cam_t), strict=True)
            )
        if on_frame is not None:
            frames = _reporting(frames, len(poses), on_frame)
        return write_mp4(frames, fps, path, audio_path=audio_path, audio_offset=audio_offset)
    finally:
        renderer.close()


def _reporting(frames: Iterable[np.ndarray], total: int, on_frame: Callable[[int, int], None]) -> Iterator[np.ndarray]:
    """``frames`` with ``on_frame(index, total)`` called before each one is made."""
    iterator = iter(frames)
    for index in range(total):
        on_frame(index, total)
        frame = next(iterator, None)
        if frame is None:
            return
        yield frame
