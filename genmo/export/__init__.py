"""Exports of a Motion to the tools users work in: npz, BVH, animated GLB, mp4 (with music)."""

from __future__ import annotations

from pathlib import Path

from genmo.body.model import BodyModel
from genmo.export.bvh import motion_to_bvh
from genmo.export.glb import motion_to_glb, validate_glb
from genmo.export.video import motion_to_mp4, probe_media, render_side_by_side
from genmo.motion.motion import Motion

FORMATS = ("npz", "bvh", "glb", "mp4")


def export_motion(
    motion: Motion,
    fmt: str,
    out: str | Path,
    body: BodyModel | None = None,
    cleanup: bool = False,
    units: str = "m",
    audio: str | Path | None = None,
    audio_offset: float = 0.0,
    size: tuple[int, int] = (640, 480),
) -> Path:
    """Write ``motion`` as ``fmt`` (npz, bvh, glb or mp4) to ``out``; return the path written.

    cleanup: remove foot skate first (genmo.cleanup.clean_foot_skate). units: BVH only ("m" or
    "cm"). audio / audio_offset / size: mp4 only.
    """
    if fmt not in FORMATS:
        raise ValueError(f"export format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if body is None:
        from genmo.body import load_body

        body = load_body()
    if cleanup:
        from genmo.cleanup import clean_foot_skate

        motion = clean_foot_skate(motion, body)
    if fmt == "npz":
        return motion.save(out)
    if fmt == "bvh":
        return motion_to_bvh(motion, out, body, units=units)
    if fmt == "glb":
        return motion_to_glb(motion, out, body)
    return motion_to_mp4(motion, out, body, audio_path=audio, audio_offset=audio_offset, width=size[0], height=size[1])


__all__ = [
    "FORMATS",
    "export_motion",
    "motion_to_bvh",
    "motion_to_glb",
    "motion_to_mp4",
    "probe_media",
    "render_side_by_side",
    "validate_glb",
]
