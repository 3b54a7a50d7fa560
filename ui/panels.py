"""The MagicDance sidebar tab in the 3D viewport."""

from __future__ import annotations

import json

import bpy


def _dancer(context):
    try:
        from .. import dancer
    except ImportError:
        return None
    return dancer.find_dancer(context.scene, context.active_object)


class MAGICDANCE_UL_takes(bpy.types.UIList):
    """The dancer's takes (NLA tracks holding one take Action each)."""

    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index):
        strip = item.strips[0] if item.strips else None
        act = strip.action if strip else None
        row = layout.row(align=True)
        active = data.action is not None and act == data.action
        row.label(text="", icon="PLAY" if active else ("SOLO_ON" if item.is_solo else "BLANK1"))
        if act is not None:
            row.prop(act, "name", text="", emboss=False)
        else:
            row.label(text=item.name)

    def filter_items(self, context, data, propname):
        tracks = getattr(data, propname)
        flags = [self.bitflag_filter_item if (t.strips and t.strips[0].action is not None
                                               and t.strips[0].action.get("md_take")) else 0 for t in tracks]
        return flags, []


class _Panel:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "MagicDance"


class MAGICDANCE_PT_main(_Panel, bpy.types.Panel):
    bl_label = "MagicDance"

    def draw(self, context):
        layout = self.layout
        scene = context.scene
        st = getattr(context.window_manager, "magicdance_job", None)
        if st is not None and st.running:
            row = layout.row(align=True)
            if hasattr(row, "progress"):   # 4.0+
                row.progress(factor=st.fraction, type="BAR", text=st.text or "working")
            else:
                row.label(text=f"{st.text} {int(st.fraction * 100)}%")
            row.operator("magicdance.cancel_job", text="", icon="CANCEL")
        box = layout.box()
        box.label(text="Music", icon="SOUND")
        info = scene.get("md_music")
        if info:
            try:
                d = json.loads(info)
                box.label(text=f"{bpy.path.basename(d['path'])}: {d['duration_s']:.1f} s, {d['tempo_bpm']:.0f} BPM")
            except (ValueError, KeyError):
                pass
        row = box.row()
        row.operator("magicdance.import_music", icon="FILE_SOUND")
        s = getattr(scene, "magicdance", None)
        if s is not None:
            row.prop(s, "beat_markers", text="Markers")
        box = layout.box()
        box.label(text="Dancer", icon="ARMATURE_DATA")
        box.operator("magicdance.add_dancer", icon="ADD")
        box = layout.box()
        box.label(text="Dance", icon="ACTION")
        if s is not None:
            col = box.column(align=True)
            col.prop(s, "style")
            col.prop(s, "generator")
            if s.generator == "MODEL":
                col.prop(s, "snap_to_beat")
                sub = col.row()
                sub.active = s.snap_to_beat   # the pulse is part of the retiming
                sub.prop(s, "beat_pulse")
            row = col.row(align=True)
            row.prop(s, "seed")
            row.prop(s, "steps")
            col.prop(s, "foot_lock")
        box.operator("magicdance.generate_dance", icon="PLAY")
        box = layout.box()
        box.label(text="Guidance Passes", icon="RENDER_RESULT")
        box.operator("magicdance.render_passes", icon="RENDER_ANIMATION")
        box = layout.box()
        box.label(text="Dance Video", icon="IMAGE_DATA")
        s = getattr(context.scene, "magicdance", None)
        if s is not None:
            box.prop(s, "animator")
            if s.animator == "DIFFUSION":
                from ..core_path import get_prefs

                prefs = get_prefs(context)
                if not getattr(prefs, "animator_weights_path", ""):
                    box.label(text="Set the MagicAnimate weights in the add-on preferences", icon="ERROR")
                row = box.row(align=True)
                row.prop(s, "animator_steps")
                row.prop(s, "animator_guidance")
        box.operator("magicdance.animate_photo", icon="SEQUENCE")


class MAGICDANCE_PT_regenerate(_Panel, bpy.types.Panel):
    bl_label = "Edit & Regenerate"
    bl_parent_id = "MAGICDANCE_PT_main"

    def draw(self, context):
        layout = self.layout
        s = getattr(context.scene, "magicdance", None)
        if s is not None:
            row = layout.row(align=True)
            row.prop(s, "regen_start")
            row.prop(s, "regen_end")
            layout.prop(s, "regen_selected_bones")
        layout.operator("magicdance.regenerate", icon="FILE_REFRESH")
        layout.label(text="Keys you insert, change, or set to type", icon="LOCKED")
        layout.label(text="'Keyframe' are kept exactly.")


class MAGICDANCE_PT_takes(_Panel, bpy.types.Panel):
    bl_label = "Takes"
    bl_parent_id = "MAGICDANCE_PT_main"

    def draw(self, context):
        layout = self.layout
        arm = _dancer(context)
        if arm is None or arm.animation_data is None:
            layout.label(text="No takes yet")
            return
        row = layout.row()
        row.template_list("MAGICDANCE_UL_takes", "", arm.animation_data, "nla_tracks", arm, "magicdance_take_index",
                          rows=4)
        col = row.column(align=True)
        col.operator("magicdance.take_activate", text="", icon="CHECKMARK")
        col.operator("magicdance.take_solo", text="", icon="SOLO_ON")
        col.operator("magicdance.take_duplicate", text="", icon="DUPLICATE")
        col.operator("magicdance.take_rename", text="", icon="GREASEPENCIL")
        col.operator("magicdance.take_delete", text="", icon="X")
        layout.operator("magicdance.takes_flatten", icon="MOD_LINEART" if False else "NLA")
        row = layout.row(align=True)
        row.operator("magicdance.export_bvh", text="BVH", icon="EXPORT")
        row.operator("magicdance.export_fbx", text="FBX", icon="EXPORT")


CLASSES = (MAGICDANCE_UL_takes, MAGICDANCE_PT_main, MAGICDANCE_PT_regenerate, MAGICDANCE_PT_takes)


def register():
    for c in CLASSES:
        bpy.utils.register_class(c)


def unregister():
    for c in reversed(CLASSES):
        bpy.utils.unregister_class(c)
