"""The timeline spec (JSON, version 1): the one document the studio, the CLI and saved projects speak.

```json
{"version": 1, "fps": 30, "duration": 8.0,
 "sampler": {"steps": 5, "guidance": 2.5, "seed": 0},
 "tracks": [
  {"kind": "text", "start": 0.0, "end": 4.0, "text": "a person walks forward"},
  {"kind": "music", "start": 4.0, "end": 8.0, "path": "song.wav", "offset": 0.0},
  {"kind": "video", "start": 0.0, "end": 3.0, "path": "clip.mp4", "offset": 0.0, "fast": false},
  {"kind": "keypoints2d", "start": 0.0, "end": 3.0, "path": "kp.npz"},
  {"kind": "keyframe", "time": 6.0, "path": "pose.npz", "frame": 0}]}
```

Times are seconds on the output timeline; ``offset`` is where in the media file a clip starts; a video
clip's ``fast`` picks the faster-than-real-time front end (genmo.conditions.frontend.FAST).
Relative paths resolve against the spec file's folder (or ``base_dir``). Validation raises
``SpecError`` with a one-line message naming the field, e.g.
``tracks[2] (music): end 3.0 must be greater than start 4.0``.

Text windows may overlap (the model sums over texts); music, video and keypoints2d clips of the
same kind may not, and two keyframes may not fall on the same output frame. The model runs at
30 fps (``MODEL_FPS``); other output rates in ``ALLOWED_FPS`` are resampled from it. The whole
format, with the motion file the pipeline writes, is described in docs/spec.md.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from genmo.constants import MODEL_FPS
from genmo.errors import SpecError, UserInputError, one_line

SPEC_VERSION = 1
ALLOWED_FPS = (20, 24, 25, 30, 50, 60)
MAX_DURATION_S = 60.0
ESTIMATE_MAX_DURATION_S = 300.0  # spec_for_observation: the CLI estimates whole videos up to this long
MIN_DURATION_S = 0.5
MAX_TRACKS = 64
MAX_TEXT_CHARS = 500
MAX_SPEC_BYTES = 1024 * 1024
STEPS_RANGE = (1, 50)
GUIDANCE_RANGE = (0.0, 10.0)
DEFAULT_GUIDANCE = 5.0  # classifier-free guidance of every entry point and of the evaluation protocol
MAX_SEED = 2**32 - 1
TIME_TOLERANCE = 1e-6

MEDIA_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "music": (".wav", ".mp3", ".ogg", ".flac"),
    "video": (".mp4", ".avi", ".mov", ".mkv", ".webm"),
    "keypoints2d": (".npz",),
    "keyframe": (".npz",),
}
LIBRARY_PREFIX = "library:"  # keyframe paths naming a built-in pose, e.g. "library:t-pose"
TRACK_KINDS = ("text", "music", "video", "keypoints2d", "keyframe")
EXCLUSIVE_KINDS = ("music", "video", "keypoints2d")


@dataclass
class Sampler:
    """DDIM sampler settings: steps (STEPS_RANGE), classifier-free guidance weight (GUIDANCE_RANGE), seed.

    The defaults are the sampler defaults of every entry point (CLI, studio, timeline widget).
    """

    steps: int = 5
    guidance: float = DEFAULT_GUIDANCE
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "guidance": self.guidance, "seed": self.seed}


@dataclass
class TextTrack:
    """A text prompt active from ``start`` to ``end`` seconds."""

    start: float
    end: float
    text: str
    kind: str = field(default="text", init=False)


@dataclass
class MusicTrack:
    """An audio clip placed at [start, end); ``offset`` seconds into the file."""

    start: float
    end: float
    path: Path
    offset: float = 0.0
    kind: str = field(default="music", init=False)


@dataclass
class VideoTrack:
    """A video clip of a person to estimate motion from, placed at [start, end); ``fast``: observed with
    the faster-than-real-time front end (less accurate, docs/performance.md) instead of every frame."""

    start: float
    end: float
    path: Path
    offset: float = 0.0
    fast: bool = False
    kind: str = field(default="video", init=False)


@dataclass
class Keypoints2DTrack:
    """COCO-17 2D keypoints (npz: keypoints (T,17,3), image_size (2,)) placed at [start, end)."""

    start: float
    end: float
    path: Path
    offset: float = 0.0
    kind: str = field(default="keypoints2d", init=False)


@dataclass
class KeyframeTrack:
    """A 3D pose constraint at ``time`` seconds: frame ``frame`` of a motion npz."""

    time: float
    path: Path
    frame: int = 0
    kind: str = field(default="keyframe", init=False)


Track = Union[TextTrack, MusicTrack, VideoTrack, Keypoints2DTrack, KeyframeTrack]
_TRACK_CLASSES: dict[str, type] = {
    "text": TextTrack,
    "music": MusicTrack,
    "video": VideoTrack,
    "keypoints2d": Keypoints2DTrack,
    "keyframe": KeyframeTrack,
}
# kind -> (required fields, optional fields with defaults)
_TRACK_FIELDS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "text": (("start", "end", "text"), {}),
    "music": (("start", "end", "path"), {"offset": 0.0}),
    "video": (("start", "end", "path"), {"offset": 0.0, "fast": False}),
    "keypoints2d": (("start", "end", "path"), {"offset": 0.0}),
    "keyframe": (("time", "path"), {"frame": 0}),
}


@dataclass
class TimelineSpec:
    """A validated timeline: output fps and duration, sampler settings and the condition tracks."""

    duration: float
    fps: int = MODEL_FPS
    sampler: Sampler = field(default_factory=Sampler)
    tracks: list[Track] = field(default_factory=list)
    version: int = SPEC_VERSION

    @property
    def num_frames(self) -> int:
        """Output frames: round(duration * fps)."""
        return int(round(self.duration * self.fps))

    @property
    def is_unconditional(self) -> bool:
        """True when the timeline has no tracks (the model then generates freely)."""
        return not self.tracks

    def tracks_of(self, kind: str) -> list[Track]:
        """The tracks of one kind, in timeline order."""
        return sorted((t for t in self.tracks if t.kind == kind), key=_track_time)

    def media_paths(self) -> list[Path]:
        """Every file the spec refers to."""
        return [t.path for t in self.tracks if hasattr(t, "path")]

    def to_dict(self, relative_to: str | Path | None = None) -> dict[str, Any]:
        """The JSON-ready dict; paths inside ``relative_to`` are written relative to it."""
        tracks = []
        for track in self.tracks:
            entry: dict[str, Any] = {"kind": track.kind}
            required, optional = _TRACK_FIELDS[track.kind]
            for name in (*required, *optional):
                value = getattr(track, name)
                entry[name] = _path_text(value, relative_to) if name == "path" else value
            tracks.append(entry)
        return {
            "version": self.version,
            "fps": self.fps,
            "duration": self.duration,
            "sampler": self.sampler.to_dict(),
            "tracks": tracks,
        }


def _track_time(track: Track) -> float:
    return track.time if isinstance(track, KeyframeTrack) else track.start


def _path_text(path: Path, relative_to: str | Path | None) -> str:
    if relative_to is not None:
        try:
            return Path(path).resolve().relative_to(Path(relative_to).resolve()).as_posix()
        except ValueError:
            pass
    return str(path)


def _label(index: int, kind: str | None) -> str:
    return f"tracks[{index}] ({kind})" if kind else f"tracks[{index}]"


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"{where} must be a number, got {_show(value)}")
    try:
        value = float(value)
    except OverflowError:
        raise SpecError(f"{where} must be a finite number, got an integer too large for a float") from None
    if not math.isfinite(value):
        raise SpecError(f"{where} must be finite, got {value}")
    return value


def _integer(value: Any, where: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{where} must be an integer, got {_show(value)}")
    return value


def _show(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, (str, int, float, bool, type(None))) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _check_keys(data: dict[str, Any], required: tuple[str, ...], optional: tuple[str, ...], where: str) -> None:
    for key in data:
        if key not in required and key not in optional:
            raise SpecError(f"{where}: unknown field {key!r} (expected {', '.join((*required, *optional))})")
    for key in required:
        if key not in data:
            raise SpecError(f"{where}: missing field {key!r}")


def _parse_sampler(data: Any) -> Sampler:
    if not isinstance(data, dict):
        raise SpecError(f"sampler must be an object, got {_show(data)}")
    _check_keys(data, (), ("steps", "guidance", "seed"), "sampler")
    sampler = Sampler()
    if "steps" in data:
        sampler.steps = _integer(data["steps"], "sampler.steps")
    if "guidance" in data:
        sampler.guidance = _number(data["guidance"], "sampler.guidance")
    if "seed" in data:
        sampler.seed = _integer(data["seed"], "sampler.seed")
    validate_sampler(sampler)
    return sampler


def validate_sampler(sampler: Sampler) -> None:
    """Raise SpecError when steps, guidance or seed is out of range."""
    lo, hi = STEPS_RANGE
    if not lo <= sampler.steps <= hi:
        raise SpecError(f"sampler.steps must be in {lo}..{hi}, got {sampler.steps}")
    lo_g, hi_g = GUIDANCE_RANGE
    if not lo_g <= sampler.guidance <= hi_g:
        raise SpecError(f"sampler.guidance must be in {lo_g:g}..{hi_g:g}, got {sampler.guidance:g}")
    if not 0 <= sampler.seed <= MAX_SEED:
        raise SpecError(f"sampler.seed must be in 0..{MAX_SEED}, got {sampler.seed}")


def _parse_path(value: Any, kind: str, where: str, base_dir: Path | None, check_files: bool) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise SpecError(f"{where}: path must be a non-empty string, got {_show(value)}")
    if kind == "keyframe" and value.startswith(LIBRARY_PREFIX):
        from genmo.conditions.pose_library import POSE_NAMES, is_library_pose

        if not is_library_pose(value[len(LIBRARY_PREFIX):]):
            raise SpecError(f"{where}: unknown library pose {value!r} (known: {', '.join(POSE_NAMES)})")
        return Path(value)
    path = Path(value)
    suffix = path.suffix.lower()
    allowed = MEDIA_EXTENSIONS[kind]
    if suffix not in allowed:
        raise SpecError(f"{where}: unsupported file format {suffix or '(none)'!r} for {path.name!r} "
                        f"(expected {', '.join(allowed)})")
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    try:
        exists = path.is_file()
    except (OSError, ValueError) as err:  # e.g. a name too long for the file system
        raise SpecError(f"{where}: unusable path {_show(value)}: {type(err).__name__}") from None
    if check_files and not exists:
        raise SpecError(f"{where}: file not found: {value if len(value) <= 200 else value[:197] + '...'}")
    return path


def _parse_track(data: Any, index: int, duration: float, base_dir: Path | None, check_files: bool) -> Track:
    if not isinstance(data, dict):
        raise SpecError(f"{_label(index, None)} must be an object, got {_show(data)}")
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in _TRACK_FIELDS:
        raise SpecError(f"{_label(index, None)}: unknown kind {_show(kind)} (expected one of {', '.join(TRACK_KINDS)})")
    where = _label(index, kind)
    required, optional = _TRACK_FIELDS[kind]
    _check_keys(data, ("kind", *required), tuple(optional), where)
    values: dict[str, Any] = dict(optional)
    values.update({k: v for k, v in data.items() if k != "kind"})
    if kind == "keyframe":
        time = _number(values["time"], f"{where}: time")
        if not -TIME_TOLERANCE <= time <= duration + TIME_TOLERANCE:
            raise SpecError(f"{where}: time {time:g} is outside the timeline 0..{duration:g}")
        frame = _integer(values["frame"], f"{where}: frame")
        if frame < 0:
            raise SpecError(f"{where}: frame must be >= 0, got {frame}")
        path = _parse_path(values["path"], kind, where, base_dir, check_files)
        return KeyframeTrack(time=min(max(time, 0.0), duration), path=path, frame=frame)
    start = _number(values["start"], f"{where}: start")
    end = _number(values["end"], f"{where}: end")
    if end <= start:
        raise SpecError(f"{where}: end {end:g} must be greater than start {start:g}")
    if start < -TIME_TOLERANCE or end > duration + TIME_TOLERANCE:
        raise SpecError(f"{where}: window {start:g}..{end:g} is outside the timeline 0..{duration:g}")
    start, end = max(start, 0.0), min(end, duration)
    if kind == "text":
        text = values["text"]
        if not isinstance(text, str):
            raise SpecError(f"{where}: text must be a string, got {_show(text)}")
        if not text.strip():
            raise SpecError(f"{where}: text is empty")
        if len(text) > MAX_TEXT_CHARS:
            raise SpecError(f"{where}: text has {len(text)} characters (limit {MAX_TEXT_CHARS})")
        return TextTrack(start=start, end=end, text=text)
    offset = _number(values["offset"], f"{where}: offset")
    if offset < 0:
        raise SpecError(f"{where}: offset must be >= 0, got {offset:g}")
    path = _parse_path(values["path"], kind, where, base_dir, check_files)
    if kind == "video":
        if not isinstance(values["fast"], bool):
            raise SpecError(f"{where}: fast must be true or false, got {_show(values['fast'])}")
        return VideoTrack(start=start, end=end, path=path, offset=offset, fast=values["fast"])
    return _TRACK_CLASSES[kind](start=start, end=end, path=path, offset=offset)


def _check_overlaps(tracks: list[Track], fps: int) -> None:
    indexed = list(enumerate(tracks))
    for kind in EXCLUSIVE_KINDS:
        clips = sorted(((i, t) for i, t in indexed if t.kind == kind), key=lambda it: it[1].start)
        for (i, a), (j, b) in zip(clips, clips[1:]):
            if b.start < a.end - TIME_TOLERANCE:
                first, second = sorted((i, j))
                raise SpecError(f"{_label(second, kind)}: overlaps {_label(first, kind)} "
                                f"({b.start:g}..{b.end:g} vs {a.start:g}..{a.end:g}); clips of one kind cannot overlap")
    seen: dict[int, int] = {}
    for i, t in indexed:
        if isinstance(t, KeyframeTrack):
            frame = int(round(t.time * fps))
            if frame in seen:
                raise SpecError(f"{_label(i, 'keyframe')}: time {t.time:g} falls on the same frame as "
                                f"{_label(seen[frame], 'keyframe')}")
            seen[frame] = i


def parse_spec(data: Any, base_dir: str | Path | None = None, check_files: bool = True,
               max_duration: float = MAX_DURATION_S) -> TimelineSpec:
    """Validate a spec dict and return the TimelineSpec; relative paths resolve against base_dir."""
    if not isinstance(data, dict):
        raise SpecError(f"spec must be a JSON object, got {_show(data)}")
    _check_keys(data, ("version", "duration", "tracks"), ("fps", "sampler"), "spec")
    version = data["version"]
    if isinstance(version, bool) or version != SPEC_VERSION:
        raise SpecError(f"version: {_show(version)} is not supported (this build reads version {SPEC_VERSION})")
    fps = _integer(data.get("fps", MODEL_FPS), "fps")
    if fps not in ALLOWED_FPS:
        raise SpecError(f"fps must be one of {', '.join(map(str, ALLOWED_FPS))}, got {fps} "
                        f"(the model runs at {MODEL_FPS} fps and output is resampled)")
    duration = _number(data["duration"], "duration")
    if not MIN_DURATION_S <= duration <= max_duration:
        raise SpecError(f"duration must be in {MIN_DURATION_S:g}..{max_duration:g} seconds, got {duration:g}")
    sampler = _parse_sampler(data.get("sampler", {}))
    raw_tracks = data["tracks"]
    if not isinstance(raw_tracks, list):
        raise SpecError(f"tracks must be a list, got {_show(raw_tracks)}")
    if len(raw_tracks) > MAX_TRACKS:
        raise SpecError(f"tracks: {len(raw_tracks)} tracks is over the limit of {MAX_TRACKS}")
    base = Path(base_dir) if base_dir is not None else None
    tracks = [_parse_track(t, i, duration, base, check_files) for i, t in enumerate(raw_tracks)]
    _check_overlaps(tracks, fps)
    return TimelineSpec(duration=duration, fps=fps, sampler=sampler, tracks=tracks, version=SPEC_VERSION)


def load_spec(source: str | Path | dict[str, Any], base_dir: str | Path | None = None,
              check_files: bool = True) -> TimelineSpec:
    """Load and validate a spec from a JSON file or a dict.

    For a file, relative media paths resolve against its folder unless ``base_dir`` is given;
    ``check_files`` makes missing media files an error.
    """
    if isinstance(source, dict):
        return parse_spec(source, base_dir, check_files)
    path = Path(source)
    if not path.is_file():
        raise SpecError(f"spec file not found: {path}")
    if path.stat().st_size > MAX_SPEC_BYTES:
        raise SpecError(f"{path.name}: spec file is larger than {MAX_SPEC_BYTES // 1024} KiB")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise SpecError(f"{path.name}: not a UTF-8 text file") from None
    except json.JSONDecodeError as err:
        raise SpecError(f"{path.name}: invalid JSON at line {err.lineno} column {err.colno}: {err.msg}") from None
    except RecursionError:
        raise SpecError(f"{path.name}: invalid JSON: nested too deeply") from None
    except ValueError as err:  # e.g. an integer with more digits than int() accepts
        raise SpecError(f"{path.name}: invalid JSON: {one_line(err)}") from None
    return parse_spec(data, base_dir if base_dir is not None else path.parent, check_files)


def save_spec(spec: TimelineSpec, path: str | Path) -> Path:
    """Write the spec as JSON; media paths inside the file's folder are stored relative to it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec.to_dict(relative_to=path.parent), indent=2) + "\n", encoding="utf-8")
    return path


def spec_for_observation(kind: str, path: str | Path) -> TimelineSpec:
    """A timeline holding one video or 2D-keypoint clip over its whole duration (up to ESTIMATE_MAX_DURATION_S)."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"{kind} file not found: {path}")
    if kind == "video":
        from genmo.videofile import probe_video

        duration = probe_video(path).duration
        if duration is None:
            raise UserInputError(f"{path.name}: cannot read the video's frame rate and length")
    else:
        from genmo.conditions.keypoints2d import load_keypoints2d

        obs = load_keypoints2d(path)
        duration = obs.num_frames / obs.fps
    if duration > ESTIMATE_MAX_DURATION_S:
        raise UserInputError(f"{path.name}: {duration:.1f} s is longer than the {ESTIMATE_MAX_DURATION_S:g} s limit")
    duration = round(duration, 3)
    return parse_spec({"version": 1, "fps": MODEL_FPS, "duration": duration,
                       "tracks": [{"kind": kind, "start": 0.0, "end": duration, "path": str(path)}]},
                      max_duration=ESTIMATE_MAX_DURATION_S)
