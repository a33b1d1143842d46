"""The condition builder every track encoder writes into: one timeline's condition set, keyframe
constraints and notes, assembled into the denoiser's sampling batch.

Frame-aligned clips write their features and mask ones into their frame range; text clips
become windows over frames; keyframes become known values + a mask for in-painting. The
result is a sampling batch of size 1 in the format of `genmo.model.batch` (docs/model.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from genmo.constants import frame_at
from genmo.model.batch import ConditionBatch, empty_conditions
from genmo.motion.representation import MOTION_DIM


@dataclass
class Constraints:
    """Known motion values (1, T, D) in the unnormalised representation and where they hold (1, T, D)."""

    values: Tensor
    mask: Tensor

    @property
    def any(self) -> bool:
        return bool(self.mask.any())


@dataclass
class Conditions:
    """A timeline's sampling batch, keyframe constraints, camera focal (pixels; None without an
    observation) and notes for the user."""

    batch: ConditionBatch
    constraints: Constraints
    focal: float | None = None
    notes: list[str] = field(default_factory=list)
    observation: Any = None  # the first video / 2D-keypoint clip's VideoObservation at MODEL_FPS, from its start


@dataclass
class ConditionBuilder:
    """Collects per-clip conditions for a timeline of `num_frames` frames at MODEL_FPS."""

    num_frames: int
    texts: list[tuple[np.ndarray, np.ndarray, int, int]] = field(default_factory=list)
    frame_features: dict[str, list[tuple[np.ndarray, np.ndarray, int]]] = field(default_factory=dict)
    keyframes: list[tuple[np.ndarray, np.ndarray, int]] = field(default_factory=list)
    focal: float | None = None  # of the observed camera, set by the video / 2D keypoint encoders
    notes: list[str] = field(default_factory=list)
    observation: Any = None  # the first observation added (the overlay fits its camera to it)

    @classmethod
    def for_duration(cls, seconds: float) -> "ConditionBuilder":
        """A builder for a timeline of ``seconds`` (at least one frame)."""
        return cls(max(1, frame_at(seconds)))

    def _span(self, start: int, end: int) -> tuple[int, int]:
        start, end = max(0, int(start)), min(self.num_frames, int(end))
        if end <= start:
            raise ValueError(f"clip frames [{start}, {end}) fall outside the timeline of {self.num_frames} frames")
        return start, end

    def add_text(self, tokens: np.ndarray, token_mask: np.ndarray, start: int, end: int) -> None:
        """A prompt's token states (L, 384) and mask (L,) acting on frames [start, end)."""
        start, end = self._span(start, end)
        self.texts.append((np.asarray(tokens, np.float32), np.asarray(token_mask, bool), start, end))

    def add_frames(self, key: str, features: np.ndarray, start: int, present: np.ndarray | None = None) -> None:
        """Per-frame features (F, ...) of condition `key` placed from frame `start`; `present` (F,) masks frames."""
        features = np.asarray(features, np.float32)
        if present is None:
            present = np.ones(len(features), bool)
        self.frame_features.setdefault(key, []).append((features, np.asarray(present, bool), int(start)))

    def add_keyframe(self, values: np.ndarray, dims: np.ndarray, frame: int) -> None:
        """Known representation values (D,) on the dims selected by `dims` (D,) bool, at one frame."""
        if not 0 <= frame < self.num_frames:
            raise ValueError(f"keyframe at frame {frame} is outside the timeline of {self.num_frames} frames")
        self.keyframes.append((np.asarray(values, np.float32), np.asarray(dims, bool), int(frame)))

    def build(self) -> Conditions:
        """The sampling batch (size 1), the keyframe constraints, the focal and the notes."""
        n = self.num_frames
        max_tokens = max((len(t[0]) for t in self.texts), default=1)
        batch = empty_conditions(1, n, texts=max(1, len(self.texts)), tokens=max_tokens)
        for k, (tokens, mask, start, end) in enumerate(self.texts):
            batch["text_tokens"][0, k, : len(tokens)] = torch.from_numpy(tokens)
            batch["text_token_mask"][0, k, : len(mask)] = torch.from_numpy(mask)
            batch["text_windows"][0, k, start:end] = True
            batch["text_present"][0, k] = True
        for key, clips in self.frame_features.items():
            if key not in batch["cond"]:
                raise ValueError(f"unknown condition {key!r}")
            for features, present, start in clips:
                lo, hi = max(0, start), min(n, start + len(features))
                if hi <= lo:
                    continue
                src = slice(lo - start, hi - start)
                batch["cond"][key][0, lo:hi] = torch.from_numpy(features[src]).reshape(hi - lo, *batch["cond"][key].shape[2:])
                batch["cond_mask"][key][0, lo:hi] = torch.from_numpy(present[src])
        values = torch.zeros(1, n, MOTION_DIM)
        mask = torch.zeros(1, n, MOTION_DIM, dtype=torch.bool)
        for vals, dims, frame in self.keyframes:
            values[0, frame] = torch.from_numpy(vals)
            mask[0, frame] = torch.from_numpy(dims)
        return Conditions(batch, Constraints(values=values, mask=mask), self.focal, list(self.notes), self.observation)
