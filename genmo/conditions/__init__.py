"""Condition extractors: turn real inputs (text, music, video, 2D keypoints, keyframes) into the
per-frame arrays the model is conditioned on. Heavy dependencies load lazily inside each module."""

from __future__ import annotations

from genmo.conditions.errors import ConditionError

__all__ = ["ConditionError"]
