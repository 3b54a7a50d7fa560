"""The add-on's side of the worker: start ``magicdance worker``, read its JSON lines, cancel.

One job at a time.  A reader thread turns the worker's stdout lines into
messages on a queue; :func:`tick` (run from ``bpy.app.timers``) drains it on
Blender's main thread, keeps the window-manager progress properties and the
status bar up to date, and hands the result to the waiting operator.  Cancel
interrupts the worker's process group (SIGINT, so the work removes its temp files),
then kills it (SIGKILL) after half a second; nothing the worker writes is visible
before its atomic rename, and the scene is only touched after a result arrives, so
a cancelled job leaves no trace.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time


class WorkerJob:
    def __init__(self, python: str, request: dict, source_dir: str = "", label: str = "MagicDance"):
        self.request = request
        self.label = label
        self.stage = "starting"
        self.fraction = 0.0
        self.message = ""
        self.result = None
        self.error = None
        self.cancelled = False
        self._q: queue.Queue = queue.Queue()
        env = dict(os.environ)
        if source_dir:
            env["PYTHONPATH"] = source_dir + os.pathsep + env.get("PYTHONPATH", "")
        env.setdefault("OMP_NUM_THREADS", "2")
        if not python or not os.path.exists(python):
            raise FileNotFoundError(f"worker Python not found: {python or '(not set)'} "
                                    "(set it in the add-on preferences)")
        self._stderr = tempfile.TemporaryFile()
        out = request.get("out")
        self._out_existed = bool(out) and os.path.exists(out)   # cancel must not delete an older result
        # its own process group: cancel reaches whatever the worker started (a Blender child, ...)
        self.proc = subprocess.Popen(
            [python, "-m", "magicdance_core.cli", "worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, env=env, cwd=source_dir or None, text=True, bufsize=1,
            start_new_session=os.name == "posix")
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.close()   # one request per worker: it exits when done
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.started = time.monotonic()

    def _read(self) -> None:
        for line in self.proc.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                self._q.put(json.loads(line))
            except ValueError:
                self._q.put({"type": "log", "message": line})
        self._q.put({"type": "eof"})

    @property
    def done(self) -> bool:
        return self.result is not None or self.error is not None or self.cancelled

    def poll(self) -> bool:
        """Handle queued messages; True once the job is done (result, error or cancel)."""
        while True:
            try:
                msg = self._q.get_nowait()
            except queue.Empty:
                break
            kind = msg.get("type")
            if kind == "progress":
                self.stage = msg.get("stage", "")
                self.fraction = float(msg.get("fraction", 0.0))
                self.message = msg.get("message", "")
            elif kind == "result":
                self.result = msg
            elif kind == "error":
                self.error = msg.get("message", "worker error")
            elif kind == "eof" and self.result is None and self.error is None and not self.cancelled:
                self.proc.wait(timeout=5)
                self._stderr.seek(0)
                tail = self._stderr.read().decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
                self.error = f"the worker stopped (exit {self.proc.returncode}) {tail[0]}".strip()
        return self.done

    def _signal(self, sig) -> None:
        try:
            if os.name == "posix":
                os.killpg(self.proc.pid, sig)
            else:
                self.proc.send_signal(sig)
        except (ProcessLookupError, PermissionError):
            pass

    def cancel(self, timeout: float = 1.0, grace: float = 0.5) -> bool:
        """End the worker now; True when it is gone within ``timeout`` seconds.

        First SIGINT (the work unwinds: temp files removed, the job folder marked "cancelled"),
        SIGKILL after ``grace`` seconds if it is still there."""
        self.cancelled = True
        if self.proc.poll() is None:
            self._signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        if self.proc.poll() is None or os.name == "posix":
            self._signal(signal.SIGKILL)   # the worker, and anything of its group still running
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        out = self.request.get("out")
        if out and os.path.exists(out) and not self._out_existed:   # a finished-but-unread result
            try:
                os.unlink(out)
            except OSError:
                pass
        return True

    def close(self) -> None:
        if self.proc.poll() is None:
            self._signal(signal.SIGKILL)
            self.proc.wait(timeout=2)
        self._stderr.close()


def run_sync(python: str, request: dict, source_dir: str = "", timeout: float = 60.0) -> dict:
    """Run one request and wait (used by Check environment); returns the result or raises."""
    job = WorkerJob(python, request, source_dir)
    t0 = time.monotonic()
    try:
        while not job.poll():
            if time.monotonic() - t0 > timeout:
                job.cancel()
                raise TimeoutError(f"the worker did not answer within {timeout:.0f} s")
            time.sleep(0.02)
        if job.error:
            raise RuntimeError(job.error)
        return job.result
    finally:
        job.close()


# ------------------------------------------------------------------ the current job (GUI)
CURRENT: WorkerJob | None = None


def _set_status(text):
    try:
        import bpy

        ws = bpy.context.workspace
        if ws is not None:
            ws.status_text_set(text)
    except Exception:
        pass   # no workspace under Blender-as-a-module


def tick():
    """``bpy.app.timers`` callback: pump the current job, mirror its progress in the UI."""
    import bpy

    job = CURRENT
    if job is None:
        return None
    job.poll()
    wm = bpy.context.window_manager
    st = getattr(wm, "magicdance_job", None)
    if st is not None:
        st.running = not job.done
        st.fraction = job.fraction
        st.text = f"{job.label}: {job.stage} {job.message}".strip()
    if not job.done:
        _set_status(f"{job.label}: {job.stage} {int(job.fraction * 100)}%  (Esc to cancel)")
    else:
        _set_status(None)
    for win in wm.windows:
        for area in win.screen.areas:
            area.tag_redraw()
    return None if job.done else 0.1


def start(python, request, source_dir="", label="MagicDance") -> WorkerJob:
    import bpy

    global CURRENT
    if CURRENT is not None and not CURRENT.done:
        raise RuntimeError("a MagicDance job is already running")
    CURRENT = WorkerJob(python, request, source_dir, label)
    bpy.app.timers.register(tick, first_interval=0.05)
    return CURRENT


def cancel_current() -> bool:
    global CURRENT
    job = CURRENT
    if job is None:
        return False
    ok = job.cancel()
    tick()
    return ok


def finish_current():
    global CURRENT
    if CURRENT is not None:
        CURRENT.close()
    CURRENT = None
    _set_status(None)
