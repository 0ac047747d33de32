"""Errors a user can cause, with messages written for them.

The command line prints ``str(error)`` on one line and exits with status 2;
the GUI shows the same line in a visible message. Programming errors are not
wrapped: they stay tracebacks.
"""


class VivavoceError(Exception):
    """A problem with the user's input, files, devices or settings."""


class AudioError(VivavoceError):
    """An audio file or device cannot be read."""


class ModelError(VivavoceError):
    """A model folder or checkpoint is missing, broken or inconsistent."""
