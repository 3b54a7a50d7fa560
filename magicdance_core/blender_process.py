"""Run the add-on's headless Blender entry point as a child process.

magicdance_core never imports ``bpy`` or ``blender_addon``: everything that needs Blender
(building scene.blend, rendering passes from a .blend, retargeting) is an *action* of
``python -m blender_addon.headless ACTION ...`` (see blender_addon/headless.py), started here with
this same interpreter (it has bpy as a module) and spoken to in the worker's JSON lines
(worker/protocol.py): progress is forwarded to ``progress``, an error comes back as the same
exception class (a user mistake stays one line), the result is returned as a dict.

Cancelling (Ctrl-C, or a ``progress`` callback that raises Cancelled): the child gets SIGINT
(a Ctrl-C in the terminal reaches it directly), unwinds -- its temporary files are removed by
the same ``finally`` blocks as on any error -- and exits; only if it does not within
``STOP_GRACE_S`` is it killed.  If this process is killed, the child notices at its next
progress report (its parent changed) and stops the same way, so no Blender is left running
behind a killed worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence

from . import errors
from .errors import Cancelled, MagicDanceError
from .progress import ProgressFn, null_progress

ENTRY_MODULE = "blender_addon.headless"
STOP_GRACE_S = 15.0


def _child_env() -> dict:
    env = dict(os.environ)
    # The child must import the blender_addon that sits beside this magicdance_core (one
    # version, however the project was installed: wheel, editable install or a checkout).
    here = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = here + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _error(msg: dict) -> MagicDanceError:
    cls = getattr(errors, str(msg.get("kind")), None)
    if not (isinstance(cls, type) and issubclass(cls, MagicDanceError)):
        cls = MagicDanceError
    return cls(str(msg.get("message") or "Blender failed"))


def _stop(proc: subprocess.Popen, interrupted: bool) -> None:
    """End the child cleanly (SIGINT), killing it only when it does not end in time."""
    if not interrupted:
        proc.send_signal(signal.SIGINT)
    try:
        # a terminal's Ctrl-C reached the child too; a second SIGINT would cut its clean-up short
        proc.wait(timeout=2.0 if interrupted else STOP_GRACE_S)
        return
    except subprocess.TimeoutExpired:
        pass
    if interrupted:
        proc.send_signal(signal.SIGINT)   # the SIGINT was ours alone (e.g. a worker being stopped)
        try:
            proc.wait(timeout=STOP_GRACE_S)
            return
        except subprocess.TimeoutExpired:
            pass
    proc.kill()
    proc.wait()


def run_action(action: str, argv: Sequence[str] = (), progress: Optional[ProgressFn] = None,
               timeout: Optional[float] = None) -> dict:
    """Run one headless Blender action; returns its result message (without ``"type"``)."""
    from .worker.protocol import decode

    progress = progress or null_progress
    cmd = [sys.executable, "-m", ENTRY_MODULE, action, *map(str, argv)]
    result = failure = None
    with tempfile.TemporaryFile() as err:   # Blender's own chatter: only its last line matters on a crash
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                                env=_child_env(), text=True, bufsize=1)
        try:
            if timeout is not None:
                import threading

                timer = threading.Timer(timeout, proc.kill)
                timer.daemon = True
                timer.start()
            for line in proc.stdout:
                try:
                    msg = decode(line)
                except ValueError:
                    continue
                kind = msg.get("type")
                if kind == "progress":
                    progress(str(msg.get("stage", action)), float(msg.get("fraction", 0.0)),
                             str(msg.get("message", "")))
                elif kind == "result":
                    result = {k: v for k, v in msg.items() if k != "type"}
                elif kind == "error":
                    failure = msg
            proc.wait()
            if timeout is not None:
                timer.cancel()
        except BaseException as e:   # Ctrl-C or a Cancelled from progress: stop the child cleanly first
            _stop(proc, isinstance(e, KeyboardInterrupt))
            raise
        finally:
            if proc.stdout:
                proc.stdout.close()
        if failure is not None and failure.get("kind") == "InternalError":
            # a bug, not a user mistake: keep the child's traceback for the report
            err.seek(0)
            raise RuntimeError(f"Blender ({action}) failed: {failure.get('message')}\n"
                               + err.read().decode("utf-8", "replace")[-4000:])
        if failure is not None:
            raise _error(failure)
        if result is None or proc.returncode != 0:
            if proc.returncode in (-9, 137) and timeout is not None:
                raise MagicDanceError(f"Blender ({action}) did not finish within {timeout:.0f} s")
            if proc.returncode in (130, -2):
                raise Cancelled("cancelled")
            err.seek(0)
            lines = err.read().decode("utf-8", "replace").strip().splitlines()
            raise MagicDanceError(f"Blender ({action}) stopped (exit {proc.returncode}): "
                                  f"{lines[-1] if lines else 'no message'}")
    return result
