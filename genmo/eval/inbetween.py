"""Motion in-betweening from 2 and 5 keyframes on test clips.

A test segment of ``frames`` frames gives k evenly spaced keyframes (k = 2: first and last).
As in the studio, a keyframe fixes the pose (root tilt, root height, body joint rotations), not
the heading or the planar position, through the sampler's in-painting. Metrics: keyframe
PA-MPJPE (per keyframe), keyframe WA-MPJPE (one similarity fitted on all keyframes' joints,
so heading and position offsets are forgiven) and transition jerk (mean jerk over the frames
between keyframes); the real row gives the ground truth's jerk (all frames) and foot sliding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from genmo.conditions.keyframes import KEYFRAME_FIELDS
from genmo.data.corpus import Corpus
from genmo.eval import metrics as M
from genmo.eval.common import (
    decode_sample,
    encode_gt,
    ground_truth,
    mean_or_none,
    padded_conditions,
    sample,
    split_clips,
)
from genmo.motion.representation import field_mask


@dataclass
class InbetweenSettings:
    clips: int = 32
    frames: int = 120
    keyframes: tuple[int, ...] = (2, 5)
    steps: int = 50
    split: str = "test"  # "val" only to choose settings (e.g. smoothing), never to report


def keyframe_indices(frames: int, count: int) -> np.ndarray:
    """``count`` evenly spaced frame indices from the first to the last frame."""
    if count < 2 or count > frames:
        raise ValueError(f"keyframe count must be in [2, {frames}], got {count}")
    return np.linspace(0, frames - 1, count).round().astype(int)


def _transition_frames(frames: int, keys: np.ndarray) -> np.ndarray:
    """Jerk indices (windows t..t+3) that touch no keyframe."""
    idx = np.arange(max(frames - 3, 0))
    touches = np.zeros(len(idx), bool)
    for k in keys:
        touches |= (idx <= k) & (k <= idx + 3)
    return idx[~touches]


def evaluate_inbetween(pipe, corpus: Corpus, settings: InbetweenSettings, seed: int = 0) -> dict:
    """{"clips", "<k>": {keyframe metrics}, "real": {...}} for each keyframe count k."""
    clips = split_clips(corpus, settings.split, min_frames=settings.frames, limit=settings.clips)
    if not clips:
        raise ValueError(f"the corpus has no test clips of at least {settings.frames} frames")
    rest = pipe.body.rest_joints().float()
    n = settings.frames
    gts = [ground_truth(corpus, c, rest, frames=n) for c in clips]
    values = torch.stack([encode_gt(g) for g in gts])
    dims = field_mask(KEYFRAME_FIELDS)
    out: dict = {"clips": len(clips), "frames": n, "steps": settings.steps}
    for k in settings.keyframes:
        keys = keyframe_indices(n, k)
        mask = torch.zeros_like(values, dtype=torch.bool)
        mask[:, keys] = dims
        x = sample(pipe, padded_conditions([n] * len(gts)), settings.steps, seed=seed, keyframes=values,
                   keyframe_mask=mask)
        trans = _transition_frames(n, keys)
        pa, wa, jerk, fs = [], [], [], []
        for i, gt in enumerate(gts):
            pred = decode_sample(pipe, x[i], n)["joints_world"]
            pa.append(M.pa_mpjpe(pred[keys], gt.joints[keys]))
            wa.append(M.chunked_world_mpjpe(pred[keys], gt.joints[keys], chunk=k, fit="all"))
            jerk.append(M.jerk(pred)[trans])
            fs.append(M.self_foot_sliding(pred))
        out[str(k)] = {"keyframe_pa_mpjpe": mean_or_none(pa), "keyframe_wa_mpjpe": mean_or_none(wa),
                       "transition_jerk": mean_or_none(jerk), "foot_sliding": round(float(np.mean(fs)), 4)}
    out["real"] = {"transition_jerk": mean_or_none([M.jerk(g.joints) for g in gts]),
                   "foot_sliding": round(float(np.mean([M.self_foot_sliding(g.joints) for g in gts])), 4)}
    return out
