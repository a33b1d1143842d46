"""The errors a user can fix, in one hierarchy, and the one-line form they are shown in.

Everything the command line (exit code 2) and the studio (a visible message) report as the
user's mistake derives from ``GenmoUserError``; any other exception is a bug and keeps its
traceback. The base derives from ValueError so callers that only care about "bad value" still
catch it.
"""

from __future__ import annotations


class GenmoUserError(ValueError):
    """Bad input the user can fix; the message is one line naming the file, field or option."""


class UserInputError(GenmoUserError):
    """A bad command-line option, setting or checkpoint folder."""


class SpecError(GenmoUserError):
    """An invalid timeline spec; the message names the track and field."""


class ConditionError(GenmoUserError):
    """A condition input (text, audio, video, 2D keypoints, keyframe) that cannot be used."""


class MediaError(GenmoUserError):
    """A file that cannot be used for a clip (wrong format, too large, undecodable)."""


class ProjectError(GenmoUserError):
    """A project file that cannot be read or written."""


class MissingExtraError(ModuleNotFoundError):
    """An optional part of genmo whose pip extra is not installed; the message names the extra."""


def one_line(err: BaseException) -> str:
    """The first line of an error's message (its type name when the message is empty)."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
