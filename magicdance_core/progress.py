"""Progress reporting and cancellation shared by every long core function.

A long function takes ``progress(stage, fraction, message)``; it may raise
:class:`~magicdance_core.errors.Cancelled` from inside the callback, which is how
cancellation reaches the work (the CLI on Ctrl-C, the worker on a stop request).
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Callable, Optional

from .errors import Cancelled

ProgressFn = Callable[[str, float, str], None]


def null_progress(stage: str, fraction: float, message: str = "") -> None:
    """A progress callback that does nothing."""


class CancelToken:
    """A flag another thread sets; ``check()`` raises Cancelled once it is set."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled")


def with_cancel(progress: Optional[ProgressFn], token: Optional[CancelToken]) -> ProgressFn:
    """Wrap ``progress`` so every call first checks ``token``."""
    inner = progress or null_progress

    def wrapped(stage: str, fraction: float, message: str = "") -> None:
        if token is not None:
            token.check()
        inner(stage, fraction, message)

    return wrapped


class TerminalBars:
    """Draws one bar per stage on stderr (used by the CLI)."""

    def __init__(self, stream=None, width: int = 30, min_interval: float = 0.1) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.min_interval = min_interval
        self._stage: Optional[str] = None
        self._last = 0.0
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._logged_tenth = -1

    def __call__(self, stage: str, fraction: float, message: str = "") -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        now = time.monotonic()
        new_stage = stage != self._stage
        if new_stage and self._stage is not None and self._tty:
            self.stream.write("\n")
        if not new_stage and fraction < 1.0 and now - self._last < self.min_interval:
            return
        self._stage, self._last = stage, now
        filled = int(round(fraction * self.width))
        bar = "#" * filled + "-" * (self.width - filled)
        line = f"{stage:<10} [{bar}] {fraction * 100:5.1f}% {message}"
        if self._tty:
            self.stream.write("\r" + line[:120].ljust(120))
            if fraction >= 1.0:
                self.stream.write("\n")
                self._stage = None
        else:
            # Not a terminal (CI, logs): a line at a stage's start, every 10 %, and its end,
            # so an hour-long training run still shows where it is in a log file.
            tenth = int(fraction * 10)
            if not (new_stage or fraction >= 1.0 or tenth > self._logged_tenth):
                return
            self._logged_tenth = -1 if fraction >= 1.0 else tenth
            self.stream.write(line + "\n")
        self.stream.flush()


def honour_sigint() -> None:
    """Make SIGINT raise KeyboardInterrupt again in a child process that its parent cancels with
    SIGINT (the headless Blender actions, the add-on's worker). A parent started in the
    background (``nohup``, ``cmd &`` in a script) runs with SIGINT ignored, and an ignored signal
    stays ignored across exec, so the child would never stop; seen as a scene written after its
    cancel in a test run launched that way."""
    import signal

    signal.signal(signal.SIGINT, signal.default_int_handler)
