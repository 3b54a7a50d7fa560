"""Properties: per-scene generation settings, the dancer's take list index, the job status, and
Apply to Character's bone mapping table (one per character armature, saved with the .blend).

The job status lives on the window manager: it is neither saved nor part of
undo, so a running or cancelled job never changes the scene.
"""

from __future__ import annotations

import bpy
from bpy.props import (BoolProperty, CollectionProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty,
                       StringProperty)

from .animator_settings import animator_items

_FALLBACK_STYLES = ("house", "hiphop", "pop", "disco", "salsa", "waltz")


def _style_items(self, context):
    # Computed once: the UI calls this on every redraw, and Blender needs the strings kept alive.
    items = getattr(_style_items, "cache", None)
    if items is None:
        styles, found = _FALLBACK_STYLES, False
        try:
            from magicdance_core.choreo.styles import STYLES

            styles, found = tuple(STYLES), True
        except Exception:   # core not found yet: the fallback names (not cached); the generator validates
            pass
        items = [("AUTO", "Auto", "Let the generator choose")]
        items += [(s, s.replace("_", " ").title(), f"Dance in the {s} style") for s in styles]
        if found:
            _style_items.cache = items
        else:
            _style_items.fallback = items   # keep the strings alive all the same
    return items


def _is_character(self, ob):
    return ob.type == "ARMATURE" and not ob.get("magicdance_dancer")


class MagicDanceSceneSettings(bpy.types.PropertyGroup):
    style: EnumProperty(name="Style", items=_style_items)
    generator: EnumProperty(
        name="Generator", default="MODEL",
        items=[("MODEL", "Diffusion model", "The shipped EDGE-style motion diffusion model"),
               ("CHOREO", "Choreographer", "The procedural choreographer (built from hand-made moves)")])
    snap_to_beat: BoolProperty(
        name="Snap to the beat", default=False,
        description="Retime the model's dance after sampling so its accents land on the beats "
                    "(off: the model's own timing, which follows the beats through its beat guidance)")
    beat_pulse: FloatProperty(
        name="Beat pulse", default=0.5, min=0.0, max=0.9,
        description="With Snap to the beat: how much the dance slows into each beat and speeds up between "
                    "(0 = its accents on the beats only)")
    seed: IntProperty(name="Seed", default=0, min=0)
    steps: IntProperty(name="Steps", default=0, min=0, description="Sampling steps (0 = the model's default)")
    beat_markers: BoolProperty(name="Beat markers", default=True, description="Add beat and bar markers")
    foot_lock: BoolProperty(name="Foot lock", default=False,
                            description="Clean up foot sliding on new takes (moves the root only)")
    regen_start: IntProperty(name="Start", default=1)
    regen_end: IntProperty(name="End", default=150)
    regen_selected_bones: BoolProperty(name="Selected bones only", default=False)
    # Animate Photo: the image animator (its weights folder is in the add-on preferences)
    animator: EnumProperty(name="Animator", items=animator_items, default=0,
                           description="Who draws the dance video from the photo and the passes")
    animator_steps: IntProperty(name="Steps", default=0, min=0, max=1000,
                                description="Diffusion animator: denoising steps (0 = the weights' default, 25)")
    animator_guidance: FloatProperty(name="Guidance", default=0.0, min=0.0, max=50.0,
                                     description="Diffusion animator: guidance scale (0 = the weights' default, 7.5)")
    # Apply to Character
    character: PointerProperty(name="Character", type=bpy.types.Object, poll=_is_character,
                               description="The armature that gets the active take (your own rig)")
    foot_plant: BoolProperty(name="Plant feet", default=True,
                             description="Hold the character's feet where the take's feet are in contact")


class MagicDanceBoneMapItem(bpy.types.PropertyGroup):
    """One row of a character's mapping table: which bone plays this SMPL joint."""

    joint: StringProperty(name="SMPL joint")
    bone: StringProperty(name="Bone", description="The character's bone for this joint (empty: not keyed)")


class MagicDanceJobStatus(bpy.types.PropertyGroup):
    running: BoolProperty(default=False)
    fraction: FloatProperty(default=0.0, min=0.0, max=1.0, subtype="FACTOR")
    text: StringProperty(default="")


CLASSES = (MagicDanceBoneMapItem, MagicDanceSceneSettings, MagicDanceJobStatus)


def register():
    for c in CLASSES:
        bpy.utils.register_class(c)
    bpy.types.Scene.magicdance = PointerProperty(type=MagicDanceSceneSettings)
    bpy.types.Object.magicdance_take_index = IntProperty(name="Take", default=0, min=0)
    bpy.types.WindowManager.magicdance_job = PointerProperty(type=MagicDanceJobStatus)
    bpy.types.Object.magicdance_bone_map = CollectionProperty(type=MagicDanceBoneMapItem)
    bpy.types.Object.magicdance_bone_map_index = IntProperty(name="Row", default=0, min=0)


def unregister():
    del bpy.types.Object.magicdance_bone_map_index
    del bpy.types.Object.magicdance_bone_map
    del bpy.types.WindowManager.magicdance_job
    del bpy.types.Object.magicdance_take_index
    del bpy.types.Scene.magicdance
    for c in reversed(CLASSES):
        bpy.utils.unregister_class(c)
