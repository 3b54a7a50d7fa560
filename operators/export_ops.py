"""Export the active take to BVH or FBX with Blender's own exporters."""

from __future__ import annotations

import bpy
from bpy.props import StringProperty

from .common import need_core, output_file, report_exception, find_active_dancer as _dancer


class _ExportOp:
    bl_options = {"REGISTER"}
    filepath: StringProperty(subtype="FILE_PATH")

    @classmethod
    def poll(cls, context):
        arm = _dancer(context)
        if arm is None:
            cls.poll_message_set("add a dancer first")
            return False
        if arm.animation_data is None or arm.animation_data.action is None:
            cls.poll_message_set("the dancer has no active take")
            return False
        if context.mode != "OBJECT":
            cls.poll_message_set("switch to Object Mode first")
            return False
        return True

    def invoke(self, context, event):
        arm = _dancer(context)
        self.filepath = bpy.path.ensure_ext(arm.animation_data.action.name, self.ext)
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        if not need_core(self, context):
            return {"CANCELLED"}

        try:
            path = output_file(self.filepath)
            arm = _dancer(context)
            from .. import takes

            s, e = takes.take_frame_range(arm.animation_data.action)
            for ob in context.view_layer.objects:
                ob.select_set(False)
            arm.select_set(True)
            context.view_layer.objects.active = arm
            self.export(context, arm, path, s, e)
        except Exception as e:   # noqa: BLE001
            return report_exception(self, e)
        self.report({"INFO"}, f"wrote {path}")
        return {"FINISHED"}


class MAGICDANCE_OT_export_bvh(_ExportOp, bpy.types.Operator):
    """Export the active take to BVH (Blender's BVH exporter)"""

    bl_idname = "magicdance.export_bvh"
    bl_label = "Export Take to BVH"
    ext = ".bvh"

    def export(self, context, arm, path, s, e):
        if not hasattr(bpy.ops.export_anim, "bvh"):
            import addon_utils

            addon_utils.enable("io_anim_bvh", default_set=True)
        res = bpy.ops.export_anim.bvh(filepath=path, frame_start=s, frame_end=e, rotate_mode="NATIVE",
                                      root_transform_only=True)
        if "FINISHED" not in res:
            raise RuntimeError("the BVH exporter failed")


class MAGICDANCE_OT_export_fbx(_ExportOp, bpy.types.Operator):
    """Export the dancer with the active take to FBX (Blender's FBX exporter)"""

    bl_idname = "magicdance.export_fbx"
    bl_label = "Export Take to FBX"
    ext = ".fbx"

    def export(self, context, arm, path, s, e):
        if not hasattr(bpy.ops.export_scene, "fbx"):
            import addon_utils

            addon_utils.enable("io_scene_fbx", default_set=True)
        from .. import dancer

        body = dancer.body_of(arm)
        if body is not None:
            body.select_set(True)
        res = bpy.ops.export_scene.fbx(filepath=path, use_selection=True, object_types={"ARMATURE", "MESH"},
                                       bake_anim=True, bake_anim_use_all_actions=False,
                                       bake_anim_use_nla_strips=False, add_leaf_bones=False)
        if "FINISHED" not in res:
            raise RuntimeError("the FBX exporter failed")


CLASSES = (MAGICDANCE_OT_export_bvh, MAGICDANCE_OT_export_fbx)
