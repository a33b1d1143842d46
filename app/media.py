"""Media checks for the timeline editor: what a clip's file holds, drawn on its clip.

``inspect_media(path, kind)`` validates an uploaded file for a track kind and returns a small
JSON-ready summary: audio waveform peaks and detected beats, video thumbnails (JPEG data URLs),
frame counts for keypoint and keyframe npz files. Bad files raise ``MediaError`` with one line.
``PathGuard`` keeps the editor (whose state comes from the browser) to files under known folders.
"""

from __future__ import annotations

import base64
import itertools
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from genmo.constants import MODEL_FPS
from genmo.errors import MediaError, one_line
from genmo.spec import LIBRARY_PREFIX, MEDIA_EXTENSIONS

MAX_UPLOAD_BYTES = 200 * 1024 * 1024
PEAK_RATE = 20  # waveform peaks per second
MAX_THUMBS = 48
THUMB_HEIGHT = 48
MAX_MEDIA_SECONDS = 600.0


class PathGuard:
    """Only files under ``roots`` may be used: the browser must not name arbitrary server files."""

    def __init__(self, roots: list[Path]) -> None:
        self.roots = [Path(r).resolve() for r in roots]

    def add(self, root: Path) -> None:
        resolved = Path(root).resolve()
        if resolved not in self.roots:
            self.roots.append(resolved)

    def check(self, path: str | Path) -> Path:
        """The resolved path, or MediaError when it lies outside every root or is not a file.

        Built-in keyframe poses (``library:<name>``) pass through unchanged.
        """
        if str(path).startswith(LIBRARY_PREFIX):
            return Path(path)
        resolved = Path(path).resolve()
        if not any(resolved.is_relative_to(root) for root in self.roots):
            raise MediaError(f"{Path(path).name}: not an uploaded or example file")
        if not resolved.is_file():
            raise MediaError(f"{Path(path).name}: file not found")
        return resolved


def check_upload(path: Path, kind: str) -> None:
    """Extension and size checks shared by every kind."""
    if kind not in MEDIA_EXTENSIONS:
        raise MediaError(f"track kind {kind!r} takes no file")
    allowed = MEDIA_EXTENSIONS[kind]
    if path.suffix.lower() not in allowed:
        raise MediaError(f"{path.name}: unsupported format {path.suffix.lower() or '(none)'} for {kind} "
                         f"(expected {', '.join(allowed)})")
    size = path.stat().st_size
    if size == 0:
        raise MediaError(f"{path.name}: the file is empty")
    if size > MAX_UPLOAD_BYTES:
        raise MediaError(f"{path.name}: {size / 2**20:.0f} MiB is over the {MAX_UPLOAD_BYTES / 2**20:.0f} MiB limit")
    if kind in ("video", "music") and _is_image(path):
        raise MediaError(f"{path.name}: this is an image file, not {'a video' if kind == 'video' else 'audio'}")


def _is_image(path: Path) -> bool:
    """True when the file starts with a PNG, JPEG, GIF, BMP or WebP signature (whatever its name)."""
    with path.open("rb") as fh:
        head = fh.read(12)
    return (head.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM"))
            or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"))


def inspect_media(path: str | Path, kind: str) -> dict[str, Any]:
    """Validate ``path`` for a ``kind`` track and summarise it for drawing (JSON-ready dict)."""
    if kind == "keyframe" and str(path).startswith(LIBRARY_PREFIX):
        return _inspect_library_pose(str(path)[len(LIBRARY_PREFIX):])
    path = Path(path)
    check_upload(path, kind)
    inspectors = {"music": _inspect_audio, "video": _inspect_video,
                  "keypoints2d": _inspect_keypoints, "keyframe": _inspect_keyframe}
    try:
        return inspectors[kind](path)
    except MediaError:
        raise
    except ValueError as err:  # ConditionError and friends: already one line for the user
        raise MediaError(one_line(err)) from None
    except (EOFError, zipfile.BadZipFile, zlib.error) as err:  # a damaged npz member read after opening
        raise MediaError(f"{path.name}: damaged file ({type(err).__name__})") from None


def _inspect_audio(path: Path) -> dict[str, Any]:
    from genmo.conditions.music import load_audio, music_features_from_array, sample_rate_for

    header_seconds = audio_header_seconds(path)
    if header_seconds is not None and header_seconds > MAX_MEDIA_SECONDS:
        raise MediaError(f"{path.name}: {header_seconds:.0f} s is longer than the {MAX_MEDIA_SECONDS:.0f} s limit")
    sr = sample_rate_for(MODEL_FPS)
    y = load_audio(path, sr)
    seconds = len(y) / sr
    hop = max(1, sr // PEAK_RATE)
    n = int(np.ceil(len(y) / hop))
    padded = np.zeros(n * hop, np.float32)
    padded[: len(y)] = np.abs(y)
    peaks = padded.reshape(n, hop).max(axis=1)
    peaks = peaks / max(float(peaks.max()), 1e-6)
    feats = music_features_from_array(y, sr, MODEL_FPS, allow_silent=True, name=path.name)
    beats = [round(float(b), 3) for b in feats.beat_times]
    summary = f"{seconds:.1f} s audio" + (f", {feats.tempo:.0f} bpm, {len(beats)} beats" if not feats.silent else ", silent")
    return {"duration": round(seconds, 3), "peak_rate": PEAK_RATE, "peaks": [round(float(p), 3) for p in peaks],
            "beats": beats, "tempo": round(float(feats.tempo), 1), "summary": summary}


def audio_header_seconds(path: Path) -> float | None:
    """The duration an audio file's header claims (nothing is decoded), or None when soundfile cannot tell."""
    import soundfile

    try:
        info = soundfile.info(str(path))
    except (RuntimeError, TypeError, ValueError):  # soundfile.LibsndfileError is a RuntimeError
        return None
    return info.frames / info.samplerate if info.samplerate > 0 and info.frames > 0 else None


def _inspect_video(path: Path) -> dict[str, Any]:
    from genmo.videofile import VideoReader

    with VideoReader(path) as reader:
        first = reader.read_first()
        fps = reader.info.fps
        seconds = reader.info.frames / fps if reader.info.frames > 0 else 0.0
        if seconds > MAX_MEDIA_SECONDS:
            raise MediaError(f"{path.name}: {seconds:.0f} s is longer than the {MAX_MEDIA_SECONDS:.0f} s limit")
        height, width = first.shape[:2]
        times = np.linspace(0.0, max(seconds - 1.0 / fps, 0.0), num=min(MAX_THUMBS, max(1, int(seconds) + 1)))
        frames = itertools.chain([first], reader.at(float(t) for t in times[1:]))
        thumbs = [{"t": round(float(t), 3), "src": _jpeg_data_url(frame)} for t, frame in zip(times, frames)]
    return {"duration": round(seconds, 3), "fps": round(fps, 3), "width": int(width), "height": int(height),
            "aspect": round(width / height, 3), "thumbs": thumbs,
            "summary": f"{seconds:.1f} s video, {width}x{height} at {fps:.0f} fps"}


def _jpeg_data_url(frame_bgr: np.ndarray) -> str:
    import cv2

    h, w = frame_bgr.shape[:2]
    small = cv2.resize(frame_bgr, (max(1, round(w * THUMB_HEIGHT / h)), THUMB_HEIGHT), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 70])
    if not ok:
        raise MediaError("cannot encode a thumbnail")
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def _inspect_keypoints(path: Path) -> dict[str, Any]:
    from genmo.conditions.keypoints2d import load_keypoints2d

    obs = load_keypoints2d(path)
    frames = int(obs.keypoints.shape[0])
    seconds = frames / obs.fps
    return {"duration": round(seconds, 3), "frames": frames, "fps": obs.fps,
            "summary": f"{frames} frames of 2D keypoints ({seconds:.1f} s), {obs.image_size[0]}x{obs.image_size[1]}"}


def _inspect_keyframe(path: Path) -> dict[str, Any]:
    from genmo.conditions.keyframes import keyframe_from_motion

    keyframe_from_motion(path, 0)  # validates keys and shapes
    with np.load(path, allow_pickle=False) as data:
        frames = int(data["poses"].shape[0])
    return {"frames": frames, "summary": f"motion file with {frames} frame{'s' if frames != 1 else ''}"}


def _inspect_library_pose(name: str) -> dict[str, Any]:
    from genmo.conditions.pose_library import is_library_pose

    if not is_library_pose(name):
        raise MediaError(f"unknown library pose {name!r}")
    return {"frames": 1, "summary": f"built-in pose {name.replace('_', ' ')}"}
