"""Generate Dance, Regenerate, Cancel, Check environment."""

from __future__ import annotations

import bpy
from bpy.props import BoolProperty, EnumProperty, IntProperty

from .common import JobOperatorMixin, need_core, report_exception, find_active_dancer as _dancer


def _has_music(scene) -> bool:
    return bool(scene.get("md_music"))


def _busy(context) -> bool:
    st = getattr(context.window_manager, "magicdance_job", None)
    return bool(st and st.running)


class MAGICDANCE_OT_generate_dance(JobOperatorMixin, bpy.types.Operator):
    """Generate a dance for the scene's music as a new take"""

    bl_idname = "magicdance.generate_dance"
    bl_label = "Generate Dance"
    bl_options = {"REGISTER", "UNDO"}
    _label = "Generating dance"

    seed: IntProperty(name="Seed", default=-1, min=-1, description="-1 = the scene's seed")
    steps: IntProperty(name="Steps", default=-1, min=-1, description="-1 = the scene's setting")

    @classmethod
    def poll(cls, context):
        if not _has_music(context.scene):
            cls.poll_message_set("import music first")
            return False
        if _busy(context):
            cls.poll_message_set("a MagicDance job is running")
            return False
        if _dancer(context) is None:
            cls.poll_message_set("add a dancer first")
            return False
        return True

    def _settings(self, context):
        s = getattr(context.scene, "magicdance", None)
        style = None if s is None or s.style == "AUTO" else s.style
        seed = self.seed if self.seed >= 0 else (s.seed if s else 0)
        steps = self.steps if self.steps >= 0 else (s.steps if s else 0)
        return style, seed, steps, bool(s and s.foot_lock)

    def prepare(self, context):
        from .. import generation

        style, seed, steps, _ = self._settings(context)
        self._arm_name = _dancer(context).name
        s = getattr(context.scene, "magicdance", None)
        return generation.generate_request(context.scene, style=style, seed=seed, steps=steps,
                                           generator=s.generator.lower() if s else None,
                                           beat_pulse=s.beat_pulse if s else None,
                                           snap_to_beat=bool(s and s.snap_to_beat))

    def apply(self, context, result):
        from .. import generation

        arm = bpy.data.objects[self._arm_name]
        act = generation.apply_generate(context.scene, arm, result, foot_lock=self._settings(context)[3])
        self.report({"INFO"}, f"new take {act.name}")


class MAGICDANCE_OT_regenerate(JobOperatorMixin, bpy.types.Operator):
    """Regenerate a frame range (and/or the selected bones) of the active take, keeping locked keys"""

    bl_idname = "magicdance.regenerate"
    bl_label = "Regenerate"
    bl_options = {"REGISTER", "UNDO"}
    _label = "Regenerating"

    frame_start: IntProperty(name="Start", default=-1, description="-1 = the panel's range")
    frame_end: IntProperty(name="End", default=-1)
    selected_bones: EnumProperty(name="Bones", default="SETTING",
                                 items=(("SETTING", "Panel setting", ""), ("ALL", "All bones", ""),
                                        ("SELECTED", "Selected bones", "")))
    seed: IntProperty(name="Seed", default=-1, min=-1)

    @classmethod
    def poll(cls, context):
        if not MAGICDANCE_OT_generate_dance.poll.__func__(cls, context):
            return False
        from .. import takes

        if takes.active_take(_dancer(context)) is None:
            cls.poll_message_set("generate a take first")
            return False
        return True

    def prepare(self, context):
        from .. import generation

        s = getattr(context.scene, "magicdance", None)
        arm = _dancer(context)
        f0 = self.frame_start if self.frame_start >= 0 else (s.regen_start if s else context.scene.frame_start)
        f1 = self.frame_end if self.frame_end >= 0 else (s.regen_end if s else context.scene.frame_end)
        mode = self.selected_bones
        if mode == "SETTING":
            mode = "SELECTED" if (s and s.regen_selected_bones) else "ALL"
        bones = [b.name for b in arm.data.bones if b.select] if mode == "SELECTED" else None
        if mode == "SELECTED" and not bones:
            from magicdance_core.errors import BadInput

            raise BadInput("no bones selected")
        style = None if s is None or s.style == "AUTO" else s.style
        seed = self.seed if self.seed >= 0 else (s.seed + 1 if s else 1)
        self._arm_name = arm.name
        self._foot_lock = bool(s and s.foot_lock)
        req, self._plan = generation.regenerate_request(context.scene, arm, f0, f1, bones=bones, style=style,
                                                        seed=seed, steps=s.steps if s else 0,
                                                        generator=s.generator.lower() if s else None,
                                                        beat_pulse=s.beat_pulse if s else None,
                                                        snap_to_beat=bool(s and s.snap_to_beat))
        return req

    def apply(self, context, result):
        from .. import generation

        arm = bpy.data.objects[self._arm_name]
        act = generation.apply_regenerate(context.scene, arm, result, self._plan, foot_lock=self._foot_lock)
        self.report({"INFO"}, f"new take {act.name} (frames {self._plan['f0']}-{self._plan['f1']})")


class MAGICDANCE_OT_cancel_job(bpy.types.Operator):
    """Stop the running MagicDance job (the scene stays as it was)"""

    bl_idname = "magicdance.cancel_job"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, context):
        if not _busy(context):
            cls.poll_message_set("nothing is running")
            return False
        return True

    def execute(self, context):
        from .. import worker_client

        ok = worker_client.cancel_current()
        self.report({"INFO"} if ok else {"WARNING"}, "cancelled" if ok else "the worker did not stop in 1 s")
        return {"FINISHED"}


class MAGICDANCE_OT_check_environment(bpy.types.Operator):
    """Check the worker's Python environment and say exactly what is missing"""

    bl_idname = "magicdance.check_environment"
    bl_label = "Check environment"

    def execute(self, context):
        import os

        from .. import core_path, worker_client

        prefs = core_path.get_prefs(context)
        python = core_path.bpy_abspath(getattr(prefs, "python_path", "")) if prefs else ""
        src = core_path.bpy_abspath(getattr(prefs, "source_path", "")) if prefs else ""
        problems = []
        if not python:
            problems.append("Python path is not set")
        elif not os.path.isfile(python):
            problems.append(f"Python not found: {python}")
        if src and not os.path.isdir(os.path.join(src, "magicdance_core")):
            problems.append(f"no magicdance_core in {src}")
        if not src and not core_path.core_source_dir():
            problems.append("MagicDance folder is not set")
        smpl = core_path.bpy_abspath(getattr(prefs, "smpl_model_path", "")) if prefs else ""
        if smpl and not os.path.isfile(smpl):
            problems.append(f"SMPL model not found: {smpl}")
        if not problems:
            try:
                res = worker_client.run_sync(python, {"op": "check"}, src or core_path.core_source_dir(), timeout=120)
                rep = res["report"]
                problems += [f"missing {m}" for m in rep["missing"]]
                have = ", ".join(f"{k} {v}" for k, v in rep["have"].items())
            except Exception as e:   # noqa: BLE001
                problems.append(f"the worker does not start: {e}")
        if problems:
            self.report({"ERROR"}, "; ".join(problems))
            return {"CANCELLED"}
        self.report({"INFO"}, f"environment OK: {have}")
        return {"FINISHED"}


CLASSES = (MAGICDANCE_OT_generate_dance, MAGICDANCE_OT_regenerate, MAGICDANCE_OT_cancel_job,
           MAGICDANCE_OT_check_environment)
