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
    silence or cut to exactly the video's length (a second ffmpeg pass copies the video stream and
    cuts both at frames / fps: ``-shortest`` with padded audio overshoots by a varying amount).
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
    path.parent.mkdir(parents=True, exist_ok=True)
    video_path = path if audio_path is None else path.with_name(f".{path.stem}.video{path.suffix}")
    cmd += [
        "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf),
        "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(video_path),
    ]
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
    if audio_path is not None:
        try:
            _mux_audio(video_path, Path(audio_path), audio_offset, count / fps, path)
        finally:
            video_path.unlink(missing_ok=True)
    return count


def _mux_audio(video: Path, audio: Path, offset: float, duration: float, path: Path) -> None:
    """Copy the video stream and add the audio as AAC, padded or cut to exactly ``duration`` seconds."""
    import imageio_ffmpeg

    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(video),
        "-ss", f"{offset}", "-i", str(audio), "-map", "0:v", "-map", "1:a", "-c:v", "copy",
        "-c:a", "aac", "-b:a", "160k", "-af", "apad", "-t", f"{duration:.6f}", "-movflags", "+faststart", str(path),
    ]
    proc = subprocess.run(cmd, capture_output=True)
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"ffmpeg failed adding audio to {path}: {err.splitlines()[-1] if err else 'unknown error'}")


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
