"""The table of track encoders: one per track kind, each writing its tracks into a ConditionBuilder.

An encoder is a function ``encode(tracks, builder, context)`` that receives every track of its
kind in timeline order (so text prompts are encoded in one batch) and writes features, text
windows, keyframe constraints, the camera focal or notes into the builder. ``encode_timeline``
runs them in table order. A new modality (a webcam stream, a second person) is one new module
with its encoder plus one entry here (and its track kind in genmo.spec).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from genmo.conditions import keyframes, keypoints2d, music, text, video
from genmo.conditions.builder import ConditionBuilder, Conditions

if TYPE_CHECKING:
    from genmo.body.model import BodyModel
    from genmo.conditions.frontend import FrontEndOptions
    from genmo.conditions.text import TextEncoder
    from genmo.spec import TimelineSpec, Track

Progress = Callable[[str, int, int], None]  # (stage, done, total)
UNCONDITIONAL_NOTE = "the timeline is empty: the motion was generated unconditionally"


@dataclass
class EncodeContext:
    """What encoders may use besides their tracks: the body (keyframe poses), the text encoder
    (loaded on first use), the progress callback and the video front end's speed levers (None:
    every frame)."""

    body: BodyModel
    text_encoder: Callable[[], TextEncoder]
    progress: Progress | None = None
    video_options: FrontEndOptions | None = None

    def stage(self, name: str) -> Callable[[int, int], None]:
        """A (done, total) callback reporting progress of stage ``name``."""
        def report(done: int, total: int) -> None:
            if self.progress is not None:
                self.progress(name, done, total)
        return report


class TrackEncoder(Protocol):
    def __call__(self, tracks: Sequence[Track], builder: ConditionBuilder, context: EncodeContext) -> None: ...


ENCODERS: dict[str, TrackEncoder] = {
    "text": text.encode_tracks,
    "music": music.encode_tracks,
    "video": video.encode_tracks,
    "keypoints2d": keypoints2d.encode_tracks,
    "keyframe": keyframes.encode_tracks,
}


def encode_timeline(spec: TimelineSpec, context: EncodeContext) -> Conditions:
    """Every track of a timeline encoded into one condition set at MODEL_FPS."""
    builder = ConditionBuilder.for_duration(spec.duration)
    for kind, encode in ENCODERS.items():
        tracks = spec.tracks_of(kind)
        if tracks:
            encode(tracks, builder, context)
    if spec.is_unconditional:
        builder.notes.append(UNCONDITIONAL_NOTE)
    return builder.build()
