"""The Photo Joints panel: Show / Save Photo Joints (operators/photo_joints.py) in the MagicDance tab."""

import bpy


class MAGICDANCE_PT_photo_joints(bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "MagicDance"
    bl_label = "Photo Joints"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        col = self.layout.column(align=True)
        col.operator("magicdance.show_photo_joints", icon="IMAGE_REFERENCE")
        col.operator("magicdance.save_photo_joints", icon="EXPORT")


def register():
    bpy.utils.register_class(MAGICDANCE_PT_photo_joints)


def unregister():
    bpy.utils.unregister_class(MAGICDANCE_PT_photo_joints)
