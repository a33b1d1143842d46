"""Video (or a single image) -> VideoObservation of its main person, resampled to the motion frame rate.

Frames are decoded (genmo.videofile: OpenCV, falling back to imageio-ffmpeg) in a reader thread
and fed in order to the per-frame front end (genmo.conditions.frontend: person tracking,
BlazePose, camera rotation) with its speed levers (FrontEndOptions): EVERY_FRAME by default
(pose and camera on every frame), FAST for faster than real time at an accuracy cost
(docs/performance.md), per clip with the spec's ``fast`` or for every clip with the pipeline's
``video_options``.
Intrinsics: focal = max(w, h) pixels (about 53 degrees field of view) unless ``focal`` is
given; principal point at the image centre.
"""

from __future__ import annotations

import time
from contextlib import closing
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from genmo.conditions.frontend import EVERY_FRAME, FAST, FrameObserver, FrontEndOptions
from genmo.conditions.keypoints2d import add_observation
from genmo.conditions.observation import VideoObservation, resample_observation
from genmo.constants import MODEL_FPS, frame_at
from genmo.errors import ConditionError
from genmo.videofile import MAX_FRAME_PIXELS, VideoReader, check_frame_size, prefetch

if TYPE_CHECKING:
    from genmo.conditions.builder import ConditionBuilder
    from genmo.conditions.encoders import EncodeContext
    from genmo.spec import VideoTrack

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
MAX_VIDEO_BYTES = 1024 * 1024 * 1024
MAX_VIDEO_SECONDS = 300.0
MAX_SOURCE_FRAMES = 9000
PREFETCH_FRAMES = 8        # decoded frames the reader thread may hold ahead of the front end
Progress = Callable[[int, int], None]


def extract_video(path: str | Path, fps: float = MODEL_FPS, offset: float = 0.0, duration: float | None = None,
                  focal: float | None = None, progress: Progress | None = None,
                  timings: dict[str, float] | None = None, options: FrontEndOptions = EVERY_FRAME) -> VideoObservation:
    """Observe the main person of a video clip [offset, offset + duration) (or an image) at ``fps``.

    ``progress(frames_done, total)`` is called after each source frame; ``timings``, when
    given, receives mean milliseconds per source frame for 'decode' (waiting for the reader),
    'detect', 'pose', 'vo' (camera) and 'wall' (all of it, stages overlapping when threaded).
    """
    path = Path(path)
    if not path.is_file():
        raise ConditionError(f"video file not found: {path}")
    if path.stat().st_size > MAX_VIDEO_BYTES:
        raise ConditionError(f"{path.name}: file is over the {MAX_VIDEO_BYTES // 2**20} MiB limit")
    if offset < 0 or (duration is not None and duration <= 0):
        raise ConditionError(f"{path.name}: offset must be >= 0 and duration > 0, got {offset}, {duration}")
    if duration is not None and duration > MAX_VIDEO_SECONDS:
        raise ConditionError(f"{path.name}: duration {duration:g} s is over the {MAX_VIDEO_SECONDS:g} s limit")

    if path.suffix.lower() in IMAGE_EXTENSIONS:
        import cv2
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as header:  # reads the header only
                check_frame_size(*header.size, path.name)
        except Image.DecompressionBombError:
            raise ConditionError(f"{path.name}: the image is over the {MAX_FRAME_PIXELS / 1e6:.1f} megapixel limit") from None
        except (UnidentifiedImageError, OSError):
            raise ConditionError(f"cannot decode image file {path.name}") from None
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise ConditionError(f"cannot decode image file {path.name}")
        src_fps, total, frames = fps, 1, (f for f in [image])
    else:
        reader = VideoReader(path, fallback=True)
        src_fps, total, frames = reader.info.fps, reader.info.frames, reader.frames()
    first = int(round(offset * src_fps))
    count = int(round(duration * src_fps)) if duration is not None else MAX_SOURCE_FRAMES
    count = min(count, MAX_SOURCE_FRAMES, max(total - first, 0) if total else MAX_SOURCE_FRAMES)

    clock = {"decode": 0.0}
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        options = replace(options, pose_tracking=False, threaded=False)  # one still image: nothing to track
    if options.threaded:
        frames = prefetch(frames, PREFETCH_FRAMES)
    t_start = time.perf_counter()
    with closing(frames), FrameObserver(src_fps, options, focal) as observer:
        t0 = time.perf_counter()
        for index, frame in enumerate(frames):
            if index < first:
                continue
            if observer.num_frames >= count:
                break
            clock["decode"] += time.perf_counter() - t0
            observer.add(frame)
            done = observer.num_frames
            if progress is not None:
                progress(done, count if count < MAX_SOURCE_FRAMES else max(total - first, done))
            t0 = time.perf_counter()
        obs = observer.observation()
        clock.update(observer.clock)
        done = observer.num_frames
    if done == 0:
        raise ConditionError(f"{path.name}: no frames at offset {offset:g} s (the video is shorter or unreadable)")
    if obs is None:
        raise ConditionError(f"no person found in {path.name}")
    if timings is not None:
        timings.update({k: v * 1000 / done for k, v in clock.items()})
        timings["wall"] = (time.perf_counter() - t_start) * 1000 / done
    return resample_observation(obs, fps)


def clip_options(track: VideoTrack, default: FrontEndOptions | None) -> FrontEndOptions:
    """The front-end levers of a video clip: FAST when the clip asks for it, else ``default`` (the
    pipeline's ``video_options``, e.g. `genmo estimate --fast`), else every frame."""
    return FAST if track.fast else default or EVERY_FRAME


def encode_tracks(tracks: list[VideoTrack], builder: ConditionBuilder, context: EncodeContext) -> None:
    """Video clips: the main person observed from ``offset`` for the clip's length, at MODEL_FPS."""
    for track in tracks:
        obs = extract_video(track.path, fps=MODEL_FPS, offset=track.offset, duration=track.end - track.start,
                            progress=context.stage("video"), options=clip_options(track, context.video_options))
        add_observation(builder, obs, frame_at(track.start))
