"""Add Dancer."""

from __future__ import annotations

import bpy
from bpy.props import StringProperty

from .common import need_core, report_exception


class MAGICDANCE_OT_add_dancer(bpy.types.Operator):
    """Add the dancer: SMPL-skeleton armature with a skinned body labelled by DensePose part"""

    bl_idname = "magicdance.add_dancer"
    bl_label = "Add Dancer"
    bl_options = {"REGISTER", "UNDO"}

    name: StringProperty(name="Name", default="Dancer")

    @classmethod
    def poll(cls, context):
        if context.scene is None:
            cls.poll_message_set("no scene")
            return False
        if context.mode != "OBJECT":
            cls.poll_message_set("switch to Object Mode first")
            return False
        return True

    def execute(self, context):
        if not need_core(self, context):
            return {"CANCELLED"}
        from .. import core_path, dancer

        prefs = core_path.get_prefs(context)
        smpl = core_path.bpy_abspath(getattr(prefs, "smpl_model_path", "")) if prefs else ""
        try:
            arm = dancer.add_dancer(context.scene, name=self.name or "Dancer", smpl_model_path=smpl or None)
        except Exception as e:   # noqa: BLE001
            return report_exception(self, e)
        for ob in context.view_layer.objects:
            ob.select_set(False)
        arm.select_set(True)
        context.view_layer.objects.active = arm
        self.report({"INFO"}, f"added {arm.name}")
        return {"FINISHED"}


CLASSES = (MAGICDANCE_OT_add_dancer,)
