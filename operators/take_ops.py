"""Takes: make active, solo, duplicate, delete, rename, flatten."""

from __future__ import annotations

import bpy
from bpy.props import IntProperty, StringProperty

from .common import need_core, report_exception, find_active_dancer as _dancer


class _TakeOp:
    bl_options = {"REGISTER", "UNDO"}
    index: IntProperty(name="Take", default=-1, description="-1 = the selected take in the list")

    @classmethod
    def poll(cls, context):
        arm = _dancer(context)
        if arm is None:
            cls.poll_message_set("add a dancer first")
            return False
        from .. import takes

        if not takes.list_takes(arm):
            cls.poll_message_set("the dancer has no takes")
            return False
        return True

    def _take(self, context):
        from magicdance_core.errors import BadInput

        from .. import takes

        arm = _dancer(context)
        # The index is the NLA track's (what the takes UIList shows, filtered).
        tracks = arm.animation_data.nla_tracks
        i = self.index if self.index >= 0 else getattr(arm, "magicdance_take_index", 0)
        act = tracks[i].strips[0].action if 0 <= i < len(tracks) and tracks[i].strips else None
        if act is None or not act.get(takes.TAKE_KEY):
            raise BadInput(f"track {i} is not a take")
        return arm, act

    def execute(self, context):
        if not need_core(self, context):
            return {"CANCELLED"}
        try:
            self.run(context, *self._take(context))
        except Exception as e:   # noqa: BLE001
            return report_exception(self, e)
        return {"FINISHED"}


class MAGICDANCE_OT_take_activate(_TakeOp, bpy.types.Operator):
    """Play and edit this take (others are muted)"""

    bl_idname = "magicdance.take_activate"
    bl_label = "Make Active"

    def run(self, context, arm, act):
        from .. import takes

        takes.set_active_take(arm, act)


class MAGICDANCE_OT_take_solo(_TakeOp, bpy.types.Operator):
    """Play only this take's NLA track, to compare it with the active one; again to stop"""

    bl_idname = "magicdance.take_solo"
    bl_label = "Solo / Compare"

    def run(self, context, arm, act):
        from .. import takes

        takes.solo_take(arm, act)


class MAGICDANCE_OT_take_duplicate(_TakeOp, bpy.types.Operator):
    """Copy this take (keys and lock state) as a new take"""

    bl_idname = "magicdance.take_duplicate"
    bl_label = "Duplicate Take"

    def run(self, context, arm, act):
        from .. import takes

        takes.duplicate_take(arm, act)


class MAGICDANCE_OT_take_delete(_TakeOp, bpy.types.Operator):
    """Delete this take (its Action and NLA track)"""

    bl_idname = "magicdance.take_delete"
    bl_label = "Delete Take"

    def run(self, context, arm, act):
        from .. import takes

        takes.delete_take(arm, act)
        n = len(takes.list_takes(arm))
        arm.magicdance_take_index = max(0, min(arm.magicdance_take_index, n - 1))


class MAGICDANCE_OT_take_rename(_TakeOp, bpy.types.Operator):
    """Rename this take (Action, NLA track and strip together)"""

    bl_idname = "magicdance.take_rename"
    bl_label = "Rename Take"

    name: StringProperty(name="Name")

    def run(self, context, arm, act):
        from magicdance_core.errors import BadInput

        from .. import takes

        if not self.name.strip():
            raise BadInput("a take needs a name")
        takes.rename_take(arm, act, self.name.strip())

    def invoke(self, context, event):
        try:
            self.name = self._take(context)[1].name
        except Exception as e:   # noqa: BLE001
            return report_exception(self, e)
        return context.window_manager.invoke_props_dialog(self)


class MAGICDANCE_OT_takes_flatten(_TakeOp, bpy.types.Operator):
    """Flatten: keep the active take as one plain Action and remove the take tracks"""

    bl_idname = "magicdance.takes_flatten"
    bl_label = "Flatten to One Action"

    def run(self, context, arm, act):
        from .. import takes

        takes.flatten(arm)


CLASSES = (MAGICDANCE_OT_take_activate, MAGICDANCE_OT_take_solo, MAGICDANCE_OT_take_duplicate,
           MAGICDANCE_OT_take_delete, MAGICDANCE_OT_take_rename, MAGICDANCE_OT_takes_flatten)
