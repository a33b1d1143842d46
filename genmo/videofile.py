"""Video files, opened in one place: the header probe, the frame reader, and the stream probe of
files this project writes.

``VideoReader`` decodes with OpenCV; with ``fallback=True`` (the estimation front end) a file
OpenCV cannot open or decode falls back to imageio-ffmpeg. Frame sizes are checked against
MAX_FRAME_PIXELS from the header, before any frame is decoded. Bad files raise ConditionError.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genmo.errors import ConditionError, one_line

MAX_FRAME_PIXELS = 4096 * 4096  # larger frames are refused from the header, before any is decoded
FALLBACK_FPS = 30.0  # a header's frame rate outside (0, 1000) is taken to be this


def check_frame_size(width: float, height: float, name: str) -> None:
    """Raise ConditionError when a frame of width x height (read from a header) is over MAX_FRAME_PIXELS."""
    if width * height > MAX_FRAME_PIXELS:
        raise ConditionError(f"{name}: {int(width)}x{int(height)} frames are over the "
                             f"{MAX_FRAME_PIXELS / 1e6:.1f} megapixel limit")


@dataclass(frozen=True)
class VideoInfo:
    """What a video's header says: frame rate (FALLBACK_FPS when it gives none), frame count (0 when
    unknown) and frame size in pixels."""

    fps: float
    frames: int
    width: int
    height: int
    fps_known: bool = True

    @property
    def duration(self) -> float | None:
        """Seconds (frames / fps), or None when the header gives no frame count or frame rate."""
        return self.frames / self.fps if self.frames > 0 and self.fps_known else None


class VideoReader:
    """BGR frames of a video file, in order (``frames``) or at given times (``at``); a context manager."""

    def __init__(self, path: str | Path, fallback: bool = False) -> None:
        import cv2

        self.path = Path(path)
        self._cap = cv2.VideoCapture(str(self.path))
        self._first: np.ndarray | None = None
        self._ffmpeg: Iterator[np.ndarray] | None = None
        if self._cap.isOpened():
            try:
                check_frame_size(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH), self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT),
                                 self.path.name)
            except ConditionError:
                self.close()
                raise
            fps = self._cap.get(cv2.CAP_PROP_FPS) or 0.0
            self.info = VideoInfo(fps if 0 < fps < 1000 else FALLBACK_FPS,
                                  max(int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0), 0),
                                  int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                                  int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)), 0 < fps < 1000)
            if not fallback:
                return
            ok, first = self._cap.read()
            if ok and first is not None:
                self._first = first
                return
        self.close()
        if not fallback:
            raise ConditionError(f"{self.path.name}: cannot decode this video")
        self._open_ffmpeg()

    def _open_ffmpeg(self) -> None:
        try:
            import imageio_ffmpeg

            reader = imageio_ffmpeg.read_frames(str(self.path))
            meta = next(reader)
        except Exception as exc:  # ffmpeg reports many error types
            raise ConditionError(f"cannot decode video file {self.path.name}: {one_line(exc)}") from None
        width, height = meta["size"]
        check_frame_size(width, height, self.path.name)
        fps = float(meta.get("fps") or FALLBACK_FPS)
        self.info = VideoInfo(fps, int(round(float(meta.get("duration") or 0) * fps)), int(width), int(height))

        def frames() -> Iterator[np.ndarray]:
            for raw in reader:
                yield np.frombuffer(raw, np.uint8).reshape(height, width, 3)[..., ::-1].copy()

        self._ffmpeg = frames()

    def frames(self) -> Iterator[np.ndarray]:
        """Every frame from the first, in order, once: the file is closed when the iteration ends."""
        try:
            if self._ffmpeg is not None:
                yield from self._ffmpeg
                return
            if self._first is not None:
                first, self._first = self._first, None
                yield first
            while True:
                ok, frame = self._cap.read()
                if not ok or frame is None:
                    return
                yield frame
        finally:
            self.close()

    def at(self, times: Iterable[float]) -> Iterator[np.ndarray]:
        """The frame at each time (seconds, OpenCV seeking); stops at the first time past the end."""
        import cv2

        if self._ffmpeg is not None:
            raise ValueError("seeking needs OpenCV; a fallback reader decodes in order only")
        for t in times:
            self._cap.set(cv2.CAP_PROP_POS_MSEC, float(t) * 1000.0)
            ok, frame = self._cap.read()
            if not ok or frame is None:
                return
            yield frame

    def read_first(self) -> np.ndarray:
        """The first frame of an OpenCV reader (ConditionError when none decodes)."""
        if self._first is None:
            ok, frame = self._cap.read()
            if not ok or frame is None:
                raise ConditionError(f"{self.path.name}: no video frames could be decoded")
            self._first = frame
        return self._first

    def close(self) -> None:
        self._cap.release()

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def prefetch(frames: Iterator[np.ndarray], depth: int) -> Iterator[np.ndarray]:
    """The same frames, decoded ahead by a reader thread into a queue of at most ``depth`` frames.

    Closing the returned generator (or dropping it) stops the thread and closes ``frames``; an
    exception in the reader is raised here, at the frame where it happened.
    """
    import queue
    import threading

    items: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()
    end = object()

    def read() -> None:
        try:
            for frame in frames:
                while not stop.is_set():
                    try:
                        items.put(frame, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    break
            items.put(end)
        except BaseException as exc:  # handed to the consumer
            items.put(exc)
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=read, daemon=True, name="genmo-decode")
    thread.start()
    try:
        while True:
            item = items.get()
            if item is end:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a reader waiting on a full queue
            try:
                items.get_nowait()
            except queue.Empty:
                thread.join(0.05)


def probe_video(path: str | Path) -> VideoInfo:
    """The header of a video file (OpenCV); ConditionError when it cannot be opened."""
    with VideoReader(path) as reader:
        return reader.info


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
    """Streams and decoded durations of a written media file via the ffmpeg that imageio-ffmpeg ships."""
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
