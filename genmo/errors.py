"""The user-facing error type: bad input the user can fix, reported as one line (CLI exit code 2)."""


class UserInputError(ValueError):
    """Bad input from the user: a clear one-line message, never a traceback."""


class MissingExtraError(ModuleNotFoundError):
    """An optional part of genmo whose pip extra is not installed; the message names the extra."""
