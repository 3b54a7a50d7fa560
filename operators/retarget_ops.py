"""Apply to Character and its bone mapping table (auto-map, load / save a preset).

Thin: check input -> one call into blender_addon/retarget.py (or the core's bone_names) -> report.
"""

from __future__ import annotations

import bpy
from bpy.props import StringProperty

from .common import find_active_dancer, need_core, output_file, report_exception


def _character(context):
    try:
        from .. import retarget
    except ImportError:
        return None
    s = getattr(context.scene, "magicdance", None)
    chosen = getattr(s, "character", None) if s is not None else None
    if chosen is not None and chosen.name in context.scene.objects:
        return chosen
    return retarget.find_character(context.scene, context.active_object)


def _poll_character(cls, context) -> bool:
    if _character(context) is None:
        cls.poll_message_set("choose the character armature (MagicDance tab > Character)")
        return False
    if context.mode != "OBJECT":
        cls.poll_message_set("switch to Object Mode first")
        return False
    return True


class MAGICDANCE_OT_apply_to_character(bpy.types.Operator):
    """Put the dancer's active take onto the character armature, as a new Action on its own NLA track
(keys you locked on the character are kept; fingers and unmapped bones are left alone)"""

    bl_idname = "magicdance.apply_to_character"
    bl_label = "Apply to Character"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        arm = find_active_dancer(context)
        if arm is None:
            cls.poll_message_set("add a dancer and generate a dance first")
            return False
        ad = arm.animation_data
        if ad is None or ad.action is None or not ad.action.get("md_take"):
            cls.poll_message_set("the dancer has no active take")
            return False
        return _poll_character(cls, context)

    def execute(self, context):
        if not need_core(self, context):
            return {"CANCELLED"}
        from .. import retarget, takes

        char = _character(context)
        arm = find_active_dancer(context)
        s = context.scene.magicdance
        try:
            _act, summary = retarget.apply_take(context.scene, arm, takes.active_take(arm), char,
                                                foot_plant=s.foot_plant)
        except Exception as e:   # noqa: BLE001 - one report line, the scene as it was
            return report_exception(self, e)
        self.report({"WARNING"} if summary["unmapped"] else {"INFO"}, retarget.summary_message(char, summary))
        return {"FINISHED"}


class MAGICDANCE_OT_bone_map_auto(bpy.types.Operator):
    """Fill the mapping table from the character's bone names (Mixamo, Rigify, Unreal, CMU, MakeHuman,
SMPL-X, or a best guess)"""

    bl_idname = "magicdance.bone_map_auto"
    bl_label = "Auto Map Bones"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return _poll_character(cls, context)

    def execute(self, context):
        if not need_core(self, context):
            return {"CANCELLED"}
        from .. import retarget

        char = _character(context)
        try:
            mapping, scheme, unmapped = retarget.auto_mapping(char)
        except Exception as e:   # noqa: BLE001
            return report_exception(self, e)
        retarget.fill_table(char, mapping)
        msg = f"{len(mapping)} bones mapped ({scheme} names)"
        if unmapped:
            self.report({"WARNING"}, f"{msg}; no bone found for: {', '.join(unmapped)}")
        else:
            self.report({"INFO"}, msg)
        return {"FINISHED"}


class _PresetFile:
    filepath: StringProperty(subtype="FILE_PATH")
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})

    @classmethod
    def poll(cls, context):
        return _poll_character(cls, context)

    def invoke(self, context, event):
        if not self.filepath:
            self.filepath = bpy.path.clean_name(_character(context).name) + "_bones.json"
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}


class MAGICDANCE_OT_bone_map_save(_PresetFile, bpy.types.Operator):
    """Save the character's mapping table as a preset (JSON) to use on other characters"""

    bl_idname = "magicdance.bone_map_save"
    bl_label = "Save Mapping Preset"

    def execute(self, context):
        if not need_core(self, context):
            return {"CANCELLED"}
        from magicdance_core.errors import BadInput
        from magicdance_core.retarget import bone_names

        from .. import retarget

        try:
            path = output_file(self.filepath, "preset file")
            mapping = retarget.stored_mapping(_character(context))
            if not mapping:
                raise BadInput("the mapping table is empty (Auto Map Bones first)")
            bone_names.save_preset(path, mapping)
        except Exception as e:   # noqa: BLE001
            return report_exception(self, e)
        self.report({"INFO"}, f"wrote {path}")
        return {"FINISHED"}


class MAGICDANCE_OT_bone_map_load(_PresetFile, bpy.types.Operator):
    """Load a mapping preset (JSON) into the character's mapping table"""

    bl_idname = "magicdance.bone_map_load"
    bl_label = "Load Mapping Preset"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        if not need_core(self, context):
            return {"CANCELLED"}
        from magicdance_core.retarget import bone_names

        from .. import retarget

        char = _character(context)
        try:
            mapping = bone_names.load_preset(bpy.path.abspath(self.filepath))
            mapping = bone_names.check_mapping(mapping, [b.name for b in char.data.bones])
        except Exception as e:   # noqa: BLE001 - a preset naming bones this rig lacks changes nothing
            return report_exception(self, e)
        retarget.fill_table(char, mapping)
        self.report({"INFO"}, f"{len(mapping)} bones mapped from {bpy.path.basename(self.filepath)}")
        return {"FINISHED"}


CLASSES = (MAGICDANCE_OT_apply_to_character, MAGICDANCE_OT_bone_map_auto, MAGICDANCE_OT_bone_map_save,
           MAGICDANCE_OT_bone_map_load)
