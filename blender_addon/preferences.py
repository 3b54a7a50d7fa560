"""Add-on preferences: the worker's Python, the MagicDance source folder, the SMPL model, the
diffusion animator's weights (user downloads, so named once here for every .blend)."""

from __future__ import annotations

import bpy
from bpy.props import EnumProperty, StringProperty

from .core_path import ROOT_PACKAGE


class MAGICDANCE_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = ROOT_PACKAGE

    python_path: StringProperty(
        name="Python", subtype="FILE_PATH",
        description="Python of the environment with torch, librosa and MagicDance (runs the worker)")
    source_path: StringProperty(
        name="MagicDance folder", subtype="DIR_PATH",
        description="Folder holding magicdance_core (the MagicDance checkout)")
    smpl_model_path: StringProperty(
        name="SMPL model", subtype="FILE_PATH",
        description="Optional SMPL model file (.npz/.pkl) you downloaded; empty = built-in body")
    animator_weights_path: StringProperty(
        name="MagicAnimate weights", subtype="DIR_PATH",
        description="MagicAnimate's pretrained_models folder (stable-diffusion-v1-5/, sd-vae-ft-mse/, "
                    "MagicAnimate/) for the diffusion animator of Animate Photo")
    face_weights_path: StringProperty(
        name="Face attention", subtype="FILE_PATH",
        description="Optional MagicDance face-attention weights (.safetensors) for the diffusion animator")
    run_mode: EnumProperty(
        name="Run heavy work", default="AUTO",
        items=(("AUTO", "Worker (GUI)", "In a worker subprocess in the GUI, in-process in background mode"),
               ("IN_PROCESS", "In Blender", "In Blender's own Python (needs torch/librosa there)")))

    def draw(self, context):
        col = self.layout.column()
        col.prop(self, "python_path")
        col.prop(self, "source_path")
        col.prop(self, "smpl_model_path")
        col.prop(self, "run_mode")
        box = self.layout.box()
        box.label(text="Diffusion animator (Animate Photo)")
        box.prop(self, "animator_weights_path")
        box.prop(self, "face_weights_path")
        col.operator("magicdance.check_environment", icon="CHECKMARK")


CLASSES = (MAGICDANCE_AP_preferences,)


def register():
    for c in CLASSES:
        bpy.utils.register_class(c)


def unregister():
    for c in reversed(CLASSES):
        bpy.utils.unregister_class(c)
