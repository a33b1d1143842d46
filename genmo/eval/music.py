"""Music-to-dance on the test songs (Dance with Melody test clips).

Each test dance is cut into up to ``segments_per_clip`` evenly spaced segments of
``segment_frames`` frames; the model dances to each segment's music features (the corpus's
35-d EDGE features; beats from BEAT_COLUMN). Metrics: BAS (music beats vs kinematic beats),
PFC, kinetic-feature diversity Div_k (standardised with the real set, Bailando protocol) and
self foot sliding; the real row scores the ground-truth dances of the same segments, and the
"real, beats shifted" row gives BAS's chance level: the same real dances against their songs'
beats moved by a quarter to three quarters of the beat interval (same tempo, wrong phase).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from genmo.conditions.music import BEAT_COLUMN
from genmo.data.corpus import Corpus
from genmo.eval import metrics as M
from genmo.eval.common import decode_sample, ground_truth, padded_conditions, sample, split_clips
from genmo.spec import DEFAULT_GUIDANCE


@dataclass
class MusicSettings:
    segment_frames: int = 300
    segments_per_clip: int = 4
    steps: int = 50
    guidance: float = DEFAULT_GUIDANCE
    prompt: str = "a person dances"  # also generate this prompt with and without the song ("" = skip)
    split: str = "test"  # "val" only to choose settings (e.g. smoothing), never to report


def segment_starts(length: int, frames: int, per_clip: int) -> list[int]:
    """First frames of up to ``per_clip`` evenly spaced segments of ``frames`` frames in a clip."""
    return sorted(set(np.linspace(0, length - frames, per_clip).round().astype(int).tolist()))


PHASE_SHIFTS = (0.25, 0.375, 0.5, 0.625, 0.75)  # fractions of the beat interval: off the beat, same tempo
FALLBACK_BEAT_INTERVAL = 16  # frames, for a segment with a single beat


def shifted_beats(beat_onehot: np.ndarray) -> list[np.ndarray]:
    """The beat one-hot rolled by each of PHASE_SHIFTS times its median beat interval."""
    b = np.asarray(beat_onehot).reshape(-1)
    frames = np.flatnonzero(b > 0.5)
    interval = float(np.median(np.diff(frames))) if len(frames) > 1 else FALLBACK_BEAT_INTERVAL
    return [np.roll(b, int(round(f * interval))) for f in PHASE_SHIFTS]


def shifted_beat_bas(joints: list[np.ndarray], beats: list[np.ndarray]) -> float | None:
    """Mean BAS of dances against their own beats moved off phase (shifted_beats): the score a dance
    gets from a song of its tempo that it does not follow."""
    scores = [np.mean([M.bas(j, s) for s in shifted_beats(b)]) for j, b in zip(joints, beats) if (b > 0.5).any()]
    return round(float(np.mean(scores)), 4) if scores else None


def _scores(joints: list[np.ndarray], beats: list[np.ndarray], reference_feats: np.ndarray | None) -> tuple[dict, np.ndarray]:
    bas = [M.bas(j, b) for j, b in zip(joints, beats) if (b > 0.5).any()]
    feats = np.stack([M.kinetic_features(j) for j in joints])
    ref = feats if reference_feats is None else reference_feats
    row = {"bas": round(float(np.mean(bas)), 4) if bas else None,
           "pfc": round(float(np.mean([M.pfc(j) for j in joints])), 4),
           "foot_sliding": round(float(np.mean([M.self_foot_sliding(j) for j in joints])), 4),
           "diversity_k": round(M.diversity(M.standardize(feats, ref)), 4) if len(feats) >= 2 else None}
    return row, feats


def evaluate_music(pipe, corpus: Corpus, settings: MusicSettings, seed: int = 0) -> dict:
    """{"segments", "generated": {...}, "real": {...}} on the test songs."""
    clips = split_clips(corpus, settings.split, need_music=True, min_frames=settings.segment_frames)
    if not clips:
        raise ValueError(f"the corpus has no test dance with music of at least {settings.segment_frames} frames")
    rest = pipe.body.rest_joints().float()
    n = settings.segment_frames
    gts, music, masks = [], [], []
    for clip in clips:
        arr = corpus.clip_arrays(clip)
        for start in segment_starts(clip["length"], n, settings.segments_per_clip):
            gts.append(ground_truth(corpus, clip, rest, start=start, frames=n))
            music.append(arr["music"][start:start + n])
            masks.append(arr["music_mask"][start:start + n])
    batch = padded_conditions([n] * len(gts))
    batch["cond"]["music"] = torch.from_numpy(np.stack(music)).float()
    batch["cond_mask"]["music"] = torch.from_numpy(np.stack(masks))
    beats = [m[:, BEAT_COLUMN] * mk for m, mk in zip(music, masks)]
    real_row, real_feats = _scores([g.joints for g in gts], beats, None)
    shifted = {"bas": shifted_beat_bas([g.joints for g in gts], beats)}

    def dance(conditions: dict) -> dict:
        x = sample(pipe, conditions, settings.steps, guidance=settings.guidance, seed=seed)
        return _scores([decode_sample(pipe, x[i], n)["joints_world"] for i in range(len(gts))], beats, real_feats)[0]

    out = {"songs": len(clips), "segments": len(gts), "segment_frames": n, "steps": settings.steps,
           "guidance": settings.guidance, "generated": dance(batch), "real": real_row,
           "real_beats_shifted": shifted}
    if settings.prompt:  # does the song add anything to a dance prompt? (BAS with and without it)
        prompted = with_prompt(batch, pipe, settings.prompt)
        out["prompt"] = settings.prompt
        out["prompt_with_music"] = dance(prompted)
        silent = dict(prompted, cond=dict(prompted["cond"]), cond_mask=dict(prompted["cond_mask"]))
        silent["cond_mask"]["music"] = torch.zeros_like(batch["cond_mask"]["music"])
        out["prompt_without_music"] = dance(silent)
    return out


def with_prompt(batch: dict, pipe, prompt: str) -> dict:
    """The batch with one prompt covering every valid frame of every sample."""
    tokens, token_mask = pipe.text_encoder.encode([prompt])
    b = batch["valid"].shape[0]
    out = dict(batch)
    out["text_tokens"] = torch.from_numpy(tokens).float()[None].expand(b, 1, -1, -1).clone()
    out["text_token_mask"] = torch.from_numpy(token_mask)[None].expand(b, 1, -1).clone()
    out["text_windows"] = batch["valid"][:, None, :].clone()
    out["text_present"] = torch.ones(b, 1, dtype=torch.bool)
    return out
