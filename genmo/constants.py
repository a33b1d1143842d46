"""The frame rate the model runs at, and the model frame of a timeline time.

The motion vector's velocities are per frame at this rate, conditions are resampled to it and
the timeline's output rate is resampled from it (docs/model.md). It lives here, free of heavy
imports, so the spec, the studio and the model code read the same value.
"""

MODEL_FPS = 30


def frame_at(seconds: float) -> int:
    """The model frame at a timeline time: round(seconds * MODEL_FPS)."""
    return int(round(seconds * MODEL_FPS))
