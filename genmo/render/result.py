"""Render a pipeline result: the body animation with the timeline's music mixed in at its clip times."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from genmo.render.timeline_audio import write_timeline_audio

if TYPE_CHECKING:
    from genmo.pipeline import GenerationResult


def render_result(result: GenerationResult, path: str | Path, width: int = 640, height: int = 480,
                  on_frame: Callable[[int, int], None] | None = None) -> Path:
    """Render the result's body animation to an mp4 with the timeline's music mixed in at its clip times.

    ``on_frame(index, total)`` runs before each frame (progress, cancellation: see render_motion)."""
    from genmo.render import render_motion  # looked up on the package per call, as the studio tests replace it

    music = [(t.path, t.start, t.end, t.offset) for t in result.spec.tracks_of("music")]
    with tempfile.TemporaryDirectory(prefix="genmo-audio-") as tmp:
        audio = write_timeline_audio(music, result.motion.duration, Path(tmp) / "mix.wav") if music else None
        render_motion(result.motion, None, path, width=width, height=height, audio_path=audio, on_frame=on_frame)
    return Path(path)
