"""Render Passes: the dancer's guidance passes (DensePose-style, IUV, ..., skeleton) to a folder."""

from __future__ import annotations

import os
import tempfile

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, StringProperty

from .common import JobOperatorMixin, need_core, report_exception, job_progress

_PASS_ITEMS = (
    ("densepose", "DensePose", "MagicAnimate's DensePose-style segmentation"),
    ("iuv", "IUV", "part index and per-part U,V (16-bit PNG)"),
    ("semantic", "Semantic", "flat colour per body region"),
    ("depth", "Depth", "per-frame normalised depth, nearest 255"),
    ("normal", "Normal", "camera-space normals"),
    ("mask", "Mask", "body alpha"),
    ("skeleton", "Skeleton", "OpenPose COCO-18 image"),
    ("keypoints", "Keypoints", "OpenPose JSON per frame"),
)


class MAGICDANCE_OT_render_passes(JobOperatorMixin, bpy.types.Operator):
    """Render the dancer's guidance passes from a fixed camera (framing the dance or aligned to a photo)"""

    bl_idname = "magicdance.render_passes"
    bl_label = "Render Passes"
    bl_options = {"REGISTER", "UNDO"}
    _label = "Render Passes"

    directory: StringProperty(name="Output Folder", subtype="DIR_PATH", default="//passes/")
    passes: EnumProperty(name="Passes", items=_PASS_ITEMS, options={"ENUM_FLAG"},
                         default={p[0] for p in _PASS_ITEMS})
    size: IntProperty(name="Size", default=512, min=64, max=4096, description="square image size")
    fps25: BoolProperty(name="25 fps", default=False, description="resample to MagicAnimate's 25 fps")
    landmarks: StringProperty(name="Photo Landmarks", subtype="FILE_PATH", default="",
                              description="landmarks JSON of the reference photo (empty: frame the whole dance)")
    skeleton_bgr: BoolProperty(name="Skeleton BGR Order", default=False,
                               description="OpenPose's original red/blue-swapped limb colours")
    stick_width: FloatProperty(name="Stick Width", default=0.0, min=0.0, max=64.0,
                               description="limb half-width in pixels (0: 4 px per 512 px)")

    @classmethod
    def poll(cls, context):
        scene = context.scene
        if scene is None:
            cls.poll_message_set("no scene")
            return False
        from .. import dancer

        arm = dancer.find_dancer(scene, context.active_object)
        if arm is None:
            cls.poll_message_set("add a dancer first")
            return False
        if not (arm.animation_data and arm.animation_data.action):
            cls.poll_message_set("the dancer has no take: generate a dance first")
            return False
        return True

    def _out(self):
        return bpy.path.abspath(self.directory or "//passes/")

    def prepare(self, context):
        from magicdance_core.body.motion_file import save_motion

        from .. import passes as md_passes

        motion = md_passes.scene_motion(context.scene, context.active_object)
        tmp = os.path.join(tempfile.mkdtemp(prefix="magicdance_passes_"), "take.npz")
        save_motion(motion, tmp)
        lm = bpy.path.abspath(self.landmarks) if self.landmarks else None
        return {"op": "passes", "motion": tmp, "out": self._out(), "passes": ",".join(sorted(self.passes)),
                "size": self.size, "fps": 25.0 if self.fps25 else None, "landmarks": lm,
                "skeleton_bgr": self.skeleton_bgr, "stick_width": self.stick_width or None, "video": True}

    def apply(self, context, result):
        from magicdance_core.camera import Camera

        from ..camera import apply_camera

        apply_camera(context.scene, Camera.load(result["paths"]["camera"]))
        self.report({"INFO"}, f"{result.get('frames')} frames of passes in {result['paths']['passes']}")

    def execute(self, context):
        # In-process (scripts, background, or a worker without the "passes" op).
        if not need_core(self, context):
            return {"CANCELLED"}
        if not self.passes:
            self.report({"ERROR"}, "choose at least one pass")
            return {"CANCELLED"}
        try:
            from magicdance_core.camera import load_landmarks_json
            from magicdance_core.passes.render import SkeletonOptions

            from .. import passes as md_passes

            lm = load_landmarks_json(bpy.path.abspath(self.landmarks)) if self.landmarks else None
            res = md_passes.render_passes(
                context.scene, self._out(), passes=sorted(self.passes), size=self.size,
                fps=25.0 if self.fps25 else None, landmarks=lm,
                skeleton=SkeletonOptions(self.skeleton_bgr, self.stick_width or None),
                progress=job_progress(context), dancer=context.active_object)
        except Exception as e:   # noqa: BLE001 - every failure becomes a report
            return report_exception(self, e)
        self.report({"INFO"}, f"{res.frames} frames of passes in {res.out_dir}")
        return {"FINISHED"}

    def invoke(self, context, event):
        try:
            from magicdance_core.worker.protocol import OPS
        except ImportError:
            OPS = {}
        if "passes" not in OPS:
            return self.execute(context)
        return JobOperatorMixin.invoke(self, context, event)


CLASSES = (MAGICDANCE_OT_render_passes,)
