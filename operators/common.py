"""Shared operator plumbing: core lookup, error reporting, and worker-or-in-process jobs."""

from __future__ import annotations

import traceback

import bpy

from .. import core_path

CLASSES = ()


def find_active_dancer(context):
    """The dancer armature of the scene (active object first), or None (also when the Blender
    side cannot load, so polls grey out instead of raising)."""
    try:
        from .. import dancer
    except ImportError:
        return None
    return dancer.find_dancer(context.scene, context.active_object)


def need_core(op, context) -> bool:
    """Make magicdance_core importable or report why not (returns False then)."""
    why = core_path.ensure_core(context)
    if why:
        op.report({"ERROR"}, f"MagicDance core not found: {why}")
        return False
    return True


def output_file(filepath: str, what: str = "output file") -> str:
    """The absolute path of an operator's output file, or BadInput (one line) when none is given
    or its folder does not exist; checked before anything is computed or written."""
    import os

    from magicdance_core.errors import BadInput

    if not filepath:
        raise BadInput(f"no {what} given")
    path = bpy.path.abspath(filepath)
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise BadInput(f"folder does not exist: {folder}")
    return path


def report_exception(op, e: BaseException) -> set:
    """Turn an exception into one report line: user errors as they are, bugs with their type."""
    try:
        from magicdance_core.errors import Cancelled, MagicDanceError
    except ImportError:
        MagicDanceError = Cancelled = ()
    if Cancelled and isinstance(e, Cancelled):
        op.report({"WARNING"}, "cancelled")
    elif MagicDanceError and isinstance(e, MagicDanceError):
        op.report({"ERROR"}, str(e))
    else:
        traceback.print_exc()   # to the console for bug reports; the user gets one line
        op.report({"ERROR"}, f"{e.__class__.__name__}: {e}")
    return {"CANCELLED"}


def job_progress(context):
    """An in-process progress callback that mirrors into the window manager's job status."""
    st = getattr(context.window_manager, "magicdance_job", None)

    def progress(stage, fraction, message=""):
        if st is not None:
            st.fraction = float(fraction)
            st.text = f"{stage} {message}".strip()

    return progress


class JobOperatorMixin:
    """Operators whose heavy part is one worker request.

    Subclasses implement ``prepare(context) -> request`` and ``apply(context, result)``, and may
    implement ``discard(context)`` (undo what ``prepare`` made, after a cancel or an error).
    ``execute`` (scripts, background) runs the request in-process; ``invoke`` in the GUI runs
    it in the worker (:meth:`start_worker`), modal, with Esc to cancel.  The scene is only
    changed in ``apply``, so cancel/error leave it as it was.
    """

    _label = "MagicDance"

    def discard(self, context) -> None:
        pass

    def execute(self, context):
        if not need_core(self, context):
            return {"CANCELLED"}
        prepared = False
        try:
            request = self.prepare(context)
            prepared = True
            from .. import generation

            result = generation.run_inprocess(request, job_progress(context))
            self.apply(context, result)
        except BaseException as e:   # noqa: BLE001 - every failure becomes a report, never a traceback
            if prepared:
                self.discard(context)
            if not isinstance(e, Exception):
                raise
            return report_exception(self, e)
        return {"FINISHED"}

    def invoke(self, context, event):
        if not core_path.use_worker(context):
            return self.execute(context)
        return self.start_worker(context)

    def start_worker(self, context):
        """Send the request to a worker subprocess and go modal (a timer event drives :meth:`modal`)."""
        if not self.launch(context):
            return {"CANCELLED"}
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.1, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def launch(self, context) -> bool:
        """Prepare the request and start the worker on it; False (reported) when that fails."""
        if not need_core(self, context):
            return False
        from .. import worker_client

        prefs = core_path.get_prefs(context)
        prepared = False
        try:
            request = self.prepare(context)
            prepared = True
            src = core_path.bpy_abspath(getattr(prefs, "source_path", "")) or core_path.core_source_dir()
            python = core_path.bpy_abspath(getattr(prefs, "python_path", ""))
            self._job = worker_client.start(python, request, src, self._label)
        except Exception as e:   # noqa: BLE001
            if prepared:
                self.discard(context)
            report_exception(self, e)
            return False
        return True

    def _end(self, context):
        from .. import worker_client

        if getattr(self, "_timer", None) is not None:
            context.window_manager.event_timer_remove(self._timer)
            self._timer = None
        st = getattr(context.window_manager, "magicdance_job", None)
        if st is not None:
            st.running = False
        worker_client.finish_current()

    def modal(self, context, event):
        job = self._job
        if event.type == "ESC" or job.cancelled:
            if not job.cancelled:
                job.cancel()
            self._end(context)
            self.discard(context)
            self.report({"WARNING"}, f"{self._label} cancelled")
            return {"CANCELLED"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        if not job.poll():
            return {"PASS_THROUGH"}
        self._end(context)
        if job.error:
            self.discard(context)
            self.report({"ERROR"}, job.error)
            return {"CANCELLED"}
        try:
            self.apply(context, job.result)
        except Exception as e:   # noqa: BLE001
            self.discard(context)
            return report_exception(self, e)
        return {"FINISHED"}
