""""Animate Photo": the dancer's active take + a photo -> a dance video in the sequencer.

Thin: check input -> run the core's dance job on the scene's music, the active take's motion
and the photo -> put video.mp4 in the sequencer on the channel above the music.
Runs in-process (the job shows progress in the status bar); the core does the work.
"""

from __future__ import annotations

import os
import tempfile

import bpy
from bpy.props import IntProperty, StringProperty

from .common import job_progress, need_core, report_exception

VIDEO_STRIP = "MagicDance Video"


class MAGICDANCE_OT_animate_photo(bpy.types.Operator):
    bl_idname = "magicdance.animate_photo"
    bl_label = "Animate Photo"
    bl_description = "Make a dance video of the person in a photo from the active take, with the music"
    bl_options = {"REGISTER"}

    filepath: StringProperty(name="Photo", subtype="FILE_PATH")
    size: IntProperty(name="Size", default=512, min=128, max=2048)

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        if not need_core(self, context):
            return {"CANCELLED"}
        from .. import music, passes

        scene = context.scene
        strip = music.music_strip(scene)
        if strip is None:
            self.report({"ERROR"}, "no music in the scene: import a song first")
            return {"CANCELLED"}
        if not self.filepath or not os.path.isfile(bpy.path.abspath(self.filepath)):
            self.report({"ERROR"}, "choose a photo of a person")
            return {"CANCELLED"}
        try:
            from magicdance_core.body.motion_file import save_motion
            from magicdance_core.jobs.pipeline import DanceOptions, run_dance

            motion = passes.scene_motion(scene)
            blend_dir = bpy.path.abspath("//") or tempfile.gettempdir()
            out = os.path.join(blend_dir, "magicdance", f"{scene.name}_dance.mp4")
            job = out[:-4] + ".job"
            os.makedirs(job, exist_ok=True)
            # the job uses the scene's take as its motion (the animator's edits), not a new dance
            save_motion(motion, os.path.join(job, "motion.npz"))
            run_dance(bpy.path.abspath(strip.filepath if hasattr(strip, "filepath") else strip.sound.filepath),
                      bpy.path.abspath(self.filepath), out,
                      DanceOptions(size=self.size, scene=False, passes=""), job_dir=job,
                      progress=job_progress(context), motion_file=os.path.join(job, "motion.npz"))
        except Exception as e:  # noqa: BLE001 - reported as one line
            return report_exception(self, e)
        seq = scene.sequence_editor or scene.sequence_editor_create()
        old = {s.name: s for s in (seq.strips if hasattr(seq, "strips") else seq.sequences)}.get(VIDEO_STRIP)
        coll = seq.strips if hasattr(seq, "strips") else seq.sequences
        if old is not None:
            coll.remove(old)
        movie = coll.new_movie(VIDEO_STRIP, out, channel=strip.channel + 1, frame_start=int(strip.frame_start))
        movie.name = VIDEO_STRIP
        self.report({"INFO"}, f"dance video: {out}")
        return {"FINISHED"}


CLASSES = (MAGICDANCE_OT_animate_photo,)
