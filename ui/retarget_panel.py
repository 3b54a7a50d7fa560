"""The Character panel: Apply to Character and the editable bone mapping (operators/retarget_ops.py)."""

import bpy


class MAGICDANCE_UL_bone_map(bpy.types.UIList):
    """SMPL joint -> the character's bone (pick from the armature's bones; empty = not keyed)."""

    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index):
        row = layout.row(align=True)
        split = row.split(factor=0.4)
        split.label(text=item.joint, icon="BONE_DATA" if item.bone else "ERROR")
        if data.type == "ARMATURE":
            split.prop_search(item, "bone", data.data, "bones", text="")
        else:
            split.prop(item, "bone", text="")


class MAGICDANCE_PT_character(bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "MagicDance"
    bl_label = "Character"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        s = getattr(context.scene, "magicdance", None)
        if s is None:
            return
        layout.prop(s, "character")
        char = s.character
        if char is None and context.active_object is not None and context.active_object.type == "ARMATURE" \
                and not context.active_object.get("magicdance_dancer"):
            char = context.active_object
        if char is not None and char.type == "ARMATURE":
            row = layout.row(align=True)
            row.operator("magicdance.bone_map_auto", icon="AUTO")
            row.operator("magicdance.bone_map_load", text="", icon="FILEBROWSER")
            row.operator("magicdance.bone_map_save", text="", icon="FILE_TICK")
            if len(char.magicdance_bone_map):
                layout.template_list("MAGICDANCE_UL_bone_map", "", char, "magicdance_bone_map", char,
                                     "magicdance_bone_map_index", rows=6)
        layout.prop(s, "foot_plant")
        layout.operator("magicdance.apply_to_character", icon="ARMATURE_DATA")


CLASSES = (MAGICDANCE_UL_bone_map, MAGICDANCE_PT_character)


def register():
    for c in CLASSES:
        bpy.utils.register_class(c)


def unregister():
    for c in reversed(CLASSES):
        bpy.utils.unregister_class(c)
