"""Show Photo Joints / Save Photo Joints: look at and correct the joints a photo was read with.

Thin: check the files -> blender_addon/photo_joints.py -> report. The core reads and writes the
landmarks file (magicdance_core/photo/landmarks_file.py), so its checks are the CLI's.
"""

from __future__ import annotations

import os

import bpy
from bpy.props import StringProperty

from .common import need_core, report_exception


class MAGICDANCE_OT_show_photo_joints(bpy.types.Operator):
    bl_idname = "magicdance.show_photo_joints"
    bl_label = "Show Photo Joints"
    bl_description = ("Show a photo with its 33 joints as empties (from 'magicdance photo': landmarks.json, "
                      "or landmarks_edit.json for a drawing); move them in the front view to correct them")
    bl_options = {"REGISTER", "UNDO"}

    filepath: StringProperty(name="Photo", subtype="FILE_PATH")
    landmarks: StringProperty(name="Landmarks", subtype="FILE_PATH",
                              description="landmarks JSON (default: landmarks_edit.json or landmarks.json beside the photo)")

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def _landmarks(self, photo: str) -> str:
        if self.landmarks:
            return bpy.path.abspath(self.landmarks)
        base = os.path.splitext(photo)[0]
        for cand in (base + ".landmarks.json", os.path.join(os.path.dirname(photo), "landmarks_edit.json"),
                     os.path.join(os.path.dirname(photo), "landmarks.json")):
            if os.path.isfile(cand):
                return cand
        return ""

    def execute(self, context):
        if not need_core(self, context):
            return {"CANCELLED"}
        photo = bpy.path.abspath(self.filepath)
        if not self.filepath or not os.path.isfile(photo):
            self.report({"ERROR"}, "choose the photo")
            return {"CANCELLED"}
        lm = self._landmarks(photo)
        if not lm:
            self.report({"ERROR"}, "no landmarks file: run 'magicdance photo PHOTO -o DIR' and choose DIR/landmarks.json "
                                   "(or DIR/landmarks_edit.json for a drawing)")
            return {"CANCELLED"}
        try:
            from .. import photo_joints

            photo_joints.show_photo_joints(context, photo, lm)
        except Exception as e:  # noqa: BLE001  (one report line; the user's scene is unchanged)
            return report_exception(self, e)
        self.report({"INFO"}, f"photo joints from {os.path.basename(lm)}: move them in the front view, then Save Photo Joints")
        return {"FINISHED"}


class MAGICDANCE_OT_save_photo_joints(bpy.types.Operator):
    bl_idname = "magicdance.save_photo_joints"
    bl_label = "Save Photo Joints"
    bl_description = "Write the joint empties as a landmarks file for --landmarks"
    bl_options = {"REGISTER"}

    filepath: StringProperty(name="Landmarks", subtype="FILE_PATH", default="landmarks_edit.json")

    @classmethod
    def poll(cls, context):
        return bpy.data.objects.get("MagicDance Photo") is not None

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        if not need_core(self, context):
            return {"CANCELLED"}
        out = bpy.path.abspath(self.filepath)
        if not out.lower().endswith(".json"):
            self.report({"ERROR"}, "save the joints as a .json file")
            return {"CANCELLED"}
        photo = bpy.data.objects["MagicDance Photo"].get("magicdance_photo", "")
        if photo and os.path.abspath(out) == os.path.abspath(photo):
            self.report({"ERROR"}, "that is the photo itself: choose another file")
            return {"CANCELLED"}
        try:
            from .. import photo_joints

            photo_joints.save_photo_joints(out)
        except Exception as e:  # noqa: BLE001
            return report_exception(self, e)
        self.report({"INFO"}, f"joints saved to {out}: pass it with --landmarks")
        return {"FINISHED"}


CLASSES = (MAGICDANCE_OT_show_photo_joints, MAGICDANCE_OT_save_photo_joints)
