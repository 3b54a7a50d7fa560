"""The ``magicdance`` command.

Subcommands live in :mod:`magicdance_core.commands`, one module each, found at
start-up: a module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args, progress) -> int``. Heavy imports (torch, bpy) belong inside ``run``
so that ``magicdance --help`` stays instant.

A :class:`~magicdance_core.errors.MagicDanceError` becomes one line
``error: ...`` and exit code 2; Ctrl-C becomes ``error: cancelled`` (exit 130), SIGTERM too (exit 143).
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import signal
import sys
import threading
import warnings
from typing import Optional, Sequence

from . import __version__
from .errors import Cancelled, MagicDanceError
from .progress import TerminalBars, null_progress


def _command_modules():
    from . import commands

    mods = []
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{commands.__name__}.{info.name}")
        if hasattr(mod, "NAME") and hasattr(mod, "run"):
            mods.append(mod)
    return mods


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, like every other user mistake
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="magicdance", description="Music + one photo -> a dance video, with editable SMPL keys in between.")
    parser.add_argument("--version", action="version", version=f"magicdance {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for mod in _command_modules():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    progress = null_progress if args.quiet else TerminalBars()
    if not os.environ.get("MAGICDANCE_DEBUG"):
        warnings.filterwarnings("ignore")  # library chatter is not for the user
    terminated = []
    previous = _on_sigterm(terminated)
    try:
        return int(args._run(args, progress) or 0)
    except (Cancelled, KeyboardInterrupt):
        print("error: cancelled", file=sys.stderr)
        return 143 if terminated else 130
    except MagicDanceError as e:
        if os.environ.get("MAGICDANCE_DEBUG"):
            raise
        msg = str(e).strip().splitlines()[0] if str(e).strip() else e.__class__.__name__
        details = getattr(e, "details", None)  # several problems (a landmarks file): one line each
        if details:
            msg = getattr(e, "headline", msg)
        print(f"error: {msg}", file=sys.stderr)
        for d in details or ():
            print(f"  - {d}", file=sys.stderr)
        return e.exit_code
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _on_sigterm(flag: list):
    """SIGTERM (``kill``, ``timeout``, a service manager) cancels like Ctrl-C: the job is marked
    cancelled and its temp files removed, instead of dying with job.json saying "running".
    Returns the handler it replaced (None when it left SIGTERM alone)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:  # someone (a parent, a test runner) chose another handler
        return None

    def cancel(signum, frame):
        flag.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, cancel)
    return previous


if __name__ == "__main__":
    sys.exit(main())
