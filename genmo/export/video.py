"""Video exports: a motion's render with its music, and several motions side by side."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from genmo.body.model import BodyModel
from genmo.motion.motion import Motion

LABEL_SCALE = 0.6


def motion_to_mp4(
    motion: Motion,
    path: str | Path,
    body: BodyModel | None = None,
    audio_path: str | Path | None = None,
    audio_offset: float = 0.0,
    width: int = 640,
    height: int = 480,
) -> Path:
    """Render ``motion`` (follow camera) to an H.264 mp4, muxing ``audio_path`` as AAC when given."""
    from genmo.render import render_motion  # the render extra: imported when a video is made

    render_motion(motion, body, path, width=width, height=height, audio_path=audio_path, audio_offset=audio_offset)
    return Path(path)


def render_side_by_side(
    motions: Sequence[Motion],
    labels: Sequence[str],
    path: str | Path,
    body: BodyModel | None = None,
    panel_width: int = 360,
    height: int = 360,
    shared_camera: bool = True,
    audio_path: str | Path | None = None,
) -> int:
    """Render several motions next to each other, one labelled panel each, frame-synchronised.

    All motions need the same fps; shorter ones hold their last pose. shared_camera: every panel
    uses one camera path following the motions' mean pelvis (trajectories stay comparable);
    otherwise each panel follows its own body from the same viewpoint. Returns frames written.
    """
    if not motions:
        raise ValueError("render_side_by_side: no motions given")
    if len(labels) != len(motions):
        raise ValueError(f"render_side_by_side: {len(labels)} labels for {len(motions)} motions")
    fps = motions[0].fps
    if any(abs(m.fps - fps) > 1e-6 for m in motions):
        raise ValueError(f"render_side_by_side: motions have different fps ({', '.join(f'{m.fps:g}' for m in motions)})")
    if body is None:
        from genmo.body import load_body

        body = load_body()
    frames = max(m.num_frames for m in motions)
    pelvis = np.stack([_hold(_pelvis(m, body), frames) for m in motions])
    from genmo.render import BodyRenderer, FollowView, follow_camera_poses, write_mp4

    view = FollowView()
    if shared_camera:
        cams = [follow_camera_poses(pelvis.mean(0), fps, view)] * len(motions)
    else:
        cams = [follow_camera_poses(p, fps, view) for p in pelvis]
    renderer = BodyRenderer(body.faces, int(body.weights.shape[0]), panel_width, height)
    try:
        streams = [_held_vertices(m, body, frames) for m in motions]

        def images() -> Iterator[np.ndarray]:
            for f in range(frames):
                panels = [renderer.render(next(s), cams[k][f], view.yfov_deg) for k, s in enumerate(streams)]
                yield np.concatenate([_label(p, text) for p, text in zip(panels, labels)], axis=1)

        return write_mp4(images(), fps, path, audio_path=audio_path)
    finally:
        renderer.close()


def _pelvis(motion: Motion, body: BodyModel) -> np.ndarray:
    with torch.no_grad():
        out = body(torch.from_numpy(motion.poses), torch.from_numpy(motion.betas), torch.from_numpy(motion.trans),
                   with_vertices=False)
    return out.joints[:, 0].numpy()


def _hold(values: np.ndarray, frames: int) -> np.ndarray:
    return np.concatenate([values, np.repeat(values[-1:], frames - len(values), axis=0)])


def _held_vertices(motion: Motion, body: BodyModel, frames: int) -> Iterator[np.ndarray]:
    last = None
    from genmo.render import motion_vertices

    for last in motion_vertices(motion, body):
        yield last
    for _ in range(frames - motion.num_frames):
        yield last


def _label(image: np.ndarray, text: str) -> np.ndarray:
    import cv2

    image = np.ascontiguousarray(image)
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, LABEL_SCALE, 1)
    cv2.rectangle(image, (6, 6), (16 + w, 16 + h + base), (255, 255, 255), -1)
    cv2.putText(image, text, (11, 11 + h), cv2.FONT_HERSHEY_SIMPLEX, LABEL_SCALE, (30, 30, 30), 1, cv2.LINE_AA)
    return image
