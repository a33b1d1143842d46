"""Video exports: a motion's render with its music, several motions side by side, and stream probing."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
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


@dataclass
class MediaInfo:
    """What ffmpeg reports about a media file: container duration, first video / audio stream (decoded lengths)."""

    duration: float
    video_codec: str | None
    audio_codec: str | None
    width: int | None
    height: int | None
    video_duration: float | None
    video_frames: int | None
    audio_duration: float | None


def probe_media(path: str | Path) -> MediaInfo:
    """Streams and durations of a media file via the ffmpeg that imageio-ffmpeg ships (no ffprobe needed)."""
    import imageio_ffmpeg

    exe = imageio_ffmpeg.get_ffmpeg_exe()
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"media file not found: {path}")
    info = subprocess.run([exe, "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    match = re.search(r"Duration: (\d+):(\d+):([\d.]+)", info)
    if match is None:
        raise ValueError(f"{path}: ffmpeg cannot read it as media")
    video = re.search(r"Stream #\S+.*?: Video: (\w+).*?, (\d{2,5})x(\d{2,5})", info)
    audio = re.search(r"Stream #\S+.*?: Audio: (\w+)", info)

    def decode(selector: str) -> tuple[float, int]:
        out = subprocess.run([exe, "-hide_banner", "-i", str(path), "-map", selector, "-f", "null", "-"],
                             capture_output=True, text=True).stderr
        times = re.findall(r"time=(\d+):(\d+):([\d.]+)", out)
        frames = re.findall(r"frame=\s*(\d+)", out)
        return (_seconds(times[-1]) if times else 0.0), (int(frames[-1]) if frames else 0)

    video_decoded = decode("0:v:0") if video else (None, None)
    return MediaInfo(
        duration=_seconds(match.groups()),
        video_codec=video.group(1) if video else None,
        audio_codec=audio.group(1) if audio else None,
        width=int(video.group(2)) if video else None,
        height=int(video.group(3)) if video else None,
        video_duration=video_decoded[0],
        video_frames=video_decoded[1],
        audio_duration=decode("0:a:0")[0] if audio else None,
    )


def _seconds(hms: Sequence[str]) -> float:
    h, m, s = hms
    return int(h) * 3600 + int(m) * 60 + float(s)
