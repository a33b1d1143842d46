"""Exports of a Motion to the tools users work in: npz, BVH, animated GLB, mp4 (with music).

The writers live in `genmo.export.bvh`, `.glb` and `.video`; `export_motion` picks one by format
(they load lazily, so importing this package is cheap).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from genmo.body.model import BodyModel
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
        from genmo.export.bvh import motion_to_bvh

        return motion_to_bvh(motion, out, body, units=units)
    if fmt == "glb":
        from genmo.export.glb import motion_to_glb

        return motion_to_glb(motion, out, body)
    from genmo.export.video import motion_to_mp4

    return motion_to_mp4(motion, out, body, audio_path=audio, audio_offset=audio_offset, width=size[0], height=size[1])
