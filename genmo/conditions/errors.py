"""The error every condition extractor raises for bad user input."""

from __future__ import annotations


class ConditionError(ValueError):
    """A condition input (text, audio, video, 2D keypoints, keyframe) that cannot be used.

    The message is one line naming the file or field and the problem, fit to show a user.
    """
