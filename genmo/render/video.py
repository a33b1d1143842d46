"""Write RGB frames to a browser-playable MP4 (H.264, yuv420p, faststart), optionally with AAC audio."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

import numpy as np


def write_mp4(
    frames: Iterable[np.ndarray],
    fps: float,
    path: str | Path,
    audio_path: str | Path | None = None,
    audio_offset: float = 0.0,
    crf: int = 20,
) -> int:
    """Encode frames (each (H, W, 3) uint8, all the same size) to ``path``; return the frame count.

    audio_path: muxed as AAC, starting ``audio_offset`` seconds into the audio file; padded with
    silence or cut so the video keeps its own length (``-max_interleave_delta 0`` stops
    ``-shortest`` from overshooting by ~0.1 s of padded audio).
    """
    import imageio_ffmpeg

    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be positive, got {fps}")
    if audio_offset < 0:
        raise ValueError(f"audio_offset must be >= 0, got {audio_offset}")
    if audio_path is not None and not Path(audio_path).is_file():
        raise ValueError(f"audio file not found: {audio_path}")
    path = Path(path)
    iterator = iter(frames)
    first = next(iterator, None)
    if first is None:
        raise ValueError("write_mp4: no frames")
    first = _check_frame(first, None, 0)
    height, width = first.shape[:2]
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", f"{fps}", "-i", "-",
    ]
    if audio_path is not None:
        cmd += ["-ss", f"{audio_offset}", "-i", str(audio_path), "-map", "0:v", "-map", "1:a",
                "-c:a", "aac", "-b:a", "160k", "-af", "apad", "-shortest", "-max_interleave_delta", "0"]
    cmd += [
        "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf),
        "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(path),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    count = 0
    try:
        for frame in _chain(first, iterator):
            proc.stdin.write(_check_frame(frame, (height, width), count).tobytes())
            count += 1
    except BrokenPipeError:
        pass
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        if proc.stdin and not proc.stdin.closed:
            try:
                proc.stdin.close()
            except BrokenPipeError:
                pass
    err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
    if proc.wait() != 0:
        last = err.splitlines()[-1] if err else "unknown error"
        raise RuntimeError(f"ffmpeg failed writing {path}: {last}")
    return count


def _chain(first: np.ndarray, rest: Iterable[np.ndarray]) -> Iterable[np.ndarray]:
    yield first
    yield from rest


def _check_frame(frame: np.ndarray, size: tuple[int, int] | None, index: int) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"frame {index}: expected (H, W, 3) uint8, got {frame.shape} {frame.dtype}")
    if size is not None and frame.shape[:2] != size:
        raise ValueError(f"frame {index}: size {frame.shape[:2]} differs from the first frame's {size}")
    return np.ascontiguousarray(frame)
