"""Import Music."""

from __future__ import annotations

import os
import tempfile

import bpy
from bpy.props import BoolProperty, StringProperty

from .common import JobOperatorMixin


class MAGICDANCE_OT_import_music(JobOperatorMixin, bpy.types.Operator):
    """Put a song into the scene: 30 fps, frame range = the song, sound strip, beat markers"""

    bl_idname = "magicdance.import_music"
    bl_label = "Import Music"
    bl_options = {"REGISTER", "UNDO"}
    _label = "Analysing music"

    filepath: StringProperty(subtype="FILE_PATH")
    filter_glob: StringProperty(default="*.wav;*.mp3;*.ogg;*.flac;*.m4a;*.aac;*.opus", options={"HIDDEN"})
    beat_markers: BoolProperty(name="Beat markers", default=True)

    def prepare(self, context):
        from magicdance_core.errors import BadInput

        path = bpy.path.abspath(self.filepath)
        if not self.filepath or not os.path.isfile(path):
            raise BadInput(f"music file not found: {self.filepath or '(none given)'}")
        self._path = path
        fd, out = tempfile.mkstemp(suffix=".json", prefix="music_")
        os.close(fd)
        os.unlink(out)
        return {"op": "analyze", "music": path, "out": out}

    def apply(self, context, result):
        from magicdance_core.audio.analysis import MusicAnalysis

        from .. import music

        analysis = None
        if result.get("paths", {}).get("analysis"):
            out = result["paths"]["analysis"]
            analysis = MusicAnalysis.from_json(out)
            from magicdance_core.audio.analysis import features_path

            for p in (out, features_path(out)):   # hand-over files, not needed any more
                try:
                    os.unlink(p)
                except OSError:
                    pass
        a = music.import_music(context.scene, self._path, markers=self.beat_markers, analysis=analysis)
        self.report({"INFO"}, f"music: {a.duration_s:.1f} s, {a.tempo_bpm:.0f} BPM, {len(a.beats_s)} beats")

    def execute(self, context):
        from .. import core_path
        from .common import need_core, report_exception

        if getattr(self, "_via_browser", False) and core_path.use_worker(context):
            # Back from the file browser in the GUI: analyse in the worker (modal, Esc cancels).
            path, markers, win = self.filepath, self.beat_markers, context.window

            def again():
                with bpy.context.temp_override(window=win):
                    bpy.ops.magicdance.import_music("INVOKE_DEFAULT", filepath=path, beat_markers=markers)

            bpy.app.timers.register(again, first_interval=0.01)
            return {"FINISHED"}
        # In-process: import_music analyses (and caches) itself.
        if not need_core(self, context):
            return {"CANCELLED"}
        try:
            self.prepare(context)
            self.apply(context, {})
        except Exception as e:   # noqa: BLE001
            return report_exception(self, e)
        return {"FINISHED"}

    def invoke(self, context, event):
        if self.filepath:
            return JobOperatorMixin.invoke(self, context, event)
        self._via_browser = True
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}


CLASSES = (MAGICDANCE_OT_import_music,)
