"""The one family of exceptions raised by magicdance_core.

The CLI turns a :class:`MagicDanceError` into one line ``error: ...`` and exit
code 2; Blender operators turn it into ``self.report({'ERROR'}, ...)``. Anything
else escaping is a bug and keeps its traceback.
"""


class MagicDanceError(Exception):
    """Base class: a problem the user can understand and act on."""

    exit_code = 2


class BadInput(MagicDanceError):
    """An input file or argument is missing, unreadable, or of the wrong shape."""


class BadRequest(BadInput):
    """A worker request that is malformed: a field missing or of the wrong type (the add-on's bug
    or a hand-written request, answered as ``"kind": "BadRequest"``)."""


class MissingModel(MagicDanceError):
    """Weights or model files the user must bring (SMPL, EDGE, ...) are absent."""


class Cancelled(MagicDanceError):
    """The user cancelled a long operation (Esc, Ctrl-C, worker stopped)."""

    exit_code = 130
