""""Animate Photo": the dancer's active take + a photo -> a dance video in the sequencer.

Thin: pick the photo -> one worker ``animate`` request (blender_addon/dance_video.py) -> the
video strip above the music.  In the GUI the job runs in the worker (modal: progress in the
status bar and the panel, Esc cancels and leaves the scene and the files as they were); under
``blender -b`` and Blender-as-a-module it runs in-process.
"""

from __future__ import annotations

import bpy
from bpy.props import IntProperty, StringProperty

from .common import JobOperatorMixin, find_active_dancer
from .generate_ops import _busy


class AnimatePhotoJob:
    """The operator's request/apply/discard (plain methods, so a test can drive the modal path)."""

    _label = "Animate Photo"

    def prepare(self, context):
        from .. import dance_video
        from ..animator_settings import animator_fields

        req, self._plan = dance_video.animate_request(context.scene, self.filepath, self.size, self.landmarks,
                                                      dancer=find_active_dancer(context),
                                                      animator=animator_fields(context.scene, context))
        return req

    def apply(self, context, result):
        from .. import dance_video

        movie = dance_video.apply_result(context.scene, result, self._plan)
        for w in result.get("warnings", ()):
            self.report({"WARNING"}, w)
        self.report({"INFO"}, f"dance video: {movie.filepath}")

    def discard(self, context):
        from .. import dance_video

        plan = getattr(self, "_plan", None)
        if plan is not None:
            dance_video.discard(plan)


class MAGICDANCE_OT_animate_photo(AnimatePhotoJob, JobOperatorMixin, bpy.types.Operator):
    """Make a dance video of the person in a photo from the active take, with the music"""

    bl_idname = "magicdance.animate_photo"
    bl_label = "Animate Photo"
    bl_options = {"REGISTER"}

    filepath: StringProperty(name="Photo", subtype="FILE_PATH")
    filter_image: bpy.props.BoolProperty(default=True, options={"HIDDEN", "SKIP_SAVE"})
    size: IntProperty(name="Size", default=512, min=128, max=2048, description="video height in pixels")
    landmarks: StringProperty(name="Joints", subtype="FILE_PATH", default="",
                              description="the photo's corrected joints (landmarks JSON); empty: detect them")

    @classmethod
    def poll(cls, context):
        scene = context.scene
        if scene is None or not scene.get("md_music"):
            cls.poll_message_set("import music first")
            return False
        if _busy(context):
            cls.poll_message_set("a MagicDance job is running")
            return False
        arm = find_active_dancer(context)
        if arm is None:
            cls.poll_message_set("add a dancer first")
            return False
        if not (arm.animation_data and arm.animation_data.action):
            cls.poll_message_set("the dancer has no take: generate a dance first")
            return False
        return True

    def invoke(self, context, event):
        if not self.filepath:
            context.window_manager.fileselect_add(self)   # execute() runs once a photo is chosen
            return {"RUNNING_MODAL"}
        return JobOperatorMixin.invoke(self, context, event)

    def execute(self, context):
        from .. import core_path

        if core_path.use_worker(context):   # the GUI, after the file browser: the worker, modal
            return self.start_worker(context)
        return JobOperatorMixin.execute(self, context)


CLASSES = (MAGICDANCE_OT_animate_photo,)
