"""Multi-text timelines: smoothness where one prompt's window hands over to the next.

Each timeline chains ``prompts`` sentences of test clips (different clips, in turn) in
consecutive windows of ``window_frames`` frames and is generated in one pass. At each window
boundary the peak per-frame acceleration within ±``radius`` frames is compared with the 99th
percentile of per-frame acceleration of real test motion (the same clips' ground truth).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genmo.data.corpus import Corpus
from genmo.eval import metrics as M
from genmo.eval.common import ground_truth, split_clips
from genmo.eval.text2motion import generate_from_texts
from genmo.spec import DEFAULT_GUIDANCE


@dataclass
class MultiTextSettings:
    timelines: int = 16
    prompts: int = 3
    window_frames: int = 60
    radius: int = 5
    steps: int = 50
    guidance: float = DEFAULT_GUIDANCE
    split: str = "test"  # "val" only to choose settings (e.g. smoothing), never to report


def evaluate_multitext(pipe, corpus: Corpus, settings: MultiTextSettings, seed: int = 0) -> dict:
    """{"timelines", "boundary_peak_accel", "real_p99_accel", "ratio", "above_p99"}."""
    if settings.prompts < 2:
        raise ValueError(f"multi-text timelines need at least 2 prompts, got {settings.prompts}")
    clips = split_clips(corpus, settings.split, min_frames=30, need_text=True,
                        limit=settings.timelines * settings.prompts)
    if len(clips) < settings.prompts:
        raise ValueError(f"multi-text needs at least {settings.prompts} test clips with text, the corpus has {len(clips)}")
    w = settings.window_frames
    total = w * settings.prompts
    timelines = []
    for t in range(settings.timelines):
        picks = [clips[(t * settings.prompts + j) % len(clips)] for j in range(settings.prompts)]
        timelines.append([(c["texts"][0], j * w, (j + 1) * w) for j, c in enumerate(picks)])
    generated = generate_from_texts(pipe, timelines, [total] * len(timelines), settings.steps, settings.guidance, seed)
    boundaries = [j * w for j in range(1, settings.prompts)]
    peaks = np.concatenate([M.boundary_peaks(j, boundaries, settings.radius) for j in generated])
    interior = np.concatenate([M.acceleration(j)[np.abs(np.arange(total)[:, None] - np.array(boundaries)).min(1) > settings.radius]
                               for j in generated])
    rest = pipe.body.rest_joints().float()
    real = np.concatenate([M.acceleration(ground_truth(corpus, c, rest).joints) for c in clips])
    p99 = float(np.percentile(real, 99))
    return {"timelines": len(timelines), "prompts": settings.prompts, "window_frames": w, "steps": settings.steps,
            "boundary_peak_accel": round(float(peaks.mean()), 4),
            "interior_mean_accel": round(float(interior.mean()), 4),
            "real_p99_accel": round(p99, 4),
            "peak_to_real_p99": round(float(peaks.mean() / max(p99, 1e-9)), 4),
            "boundaries_above_real_p99": round(float((peaks > p99).mean()), 4)}
