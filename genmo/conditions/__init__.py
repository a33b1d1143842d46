"""Conditions: turn real inputs (text, music, video, 2D keypoints, keyframes) into what the model is
conditioned on. Each track kind has one module with its extractor and its track encoder, listed in
the ENCODERS table of `genmo.conditions.encoders`; encoders write into a `ConditionBuilder`
(`genmo.conditions.builder`). Heavy dependencies (transformers, librosa, OpenCV, mediapipe, torch)
load lazily on first use, so importing this package is cheap."""

from __future__ import annotations

from genmo.conditions.keyframes import Keyframe, load_keyframe
from genmo.conditions.keypoints2d import condition_arrays, load_keypoints2d, save_keypoints2d
from genmo.conditions.music import MusicFeatures, music_features, music_features_from_array
from genmo.conditions.observation import VideoObservation, resample_observation
from genmo.conditions.pose_library import POSE_NAMES, library_pose
from genmo.conditions.text import TextEncoder, default_encoder
from genmo.conditions.video import extract_video
from genmo.errors import ConditionError

__all__ = [
    "ConditionError", "Keyframe", "load_keyframe", "VideoObservation", "condition_arrays", "load_keypoints2d",
    "resample_observation", "save_keypoints2d", "MusicFeatures", "music_features", "music_features_from_array",
    "POSE_NAMES", "library_pose", "TextEncoder", "default_encoder", "extract_video",
]
