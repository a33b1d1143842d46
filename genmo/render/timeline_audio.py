"""Mix a timeline's music clips into one soundtrack aligned with the output motion."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SAMPLE_RATE = 44100


def write_timeline_audio(clips: list[tuple[Path, float, float, float]], duration: float, path: str | Path) -> Path:
    """Write a wav of `duration` seconds: each clip (file, start, end, offset) placed at its start, silence elsewhere."""
    import soundfile

    from genmo.conditions.music import load_audio

    track = np.zeros(int(round(duration * SAMPLE_RATE)), dtype=np.float32)
    for file, start, end, offset in clips:
        samples = load_audio(file, SAMPLE_RATE, offset=offset, duration=end - start)
        lo = int(round(start * SAMPLE_RATE))
        n = max(0, min(len(samples), len(track) - lo))
        track[lo : lo + n] += samples[:n]
    peak = float(np.abs(track).max(initial=0.0))
    if peak > 1.0:
        track /= peak
    path = Path(path)
    soundfile.write(path, track, SAMPLE_RATE)
    return path
