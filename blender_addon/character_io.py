"""Characters in and out of Blender: open a .blend / import FBX or glTF, export FBX or glTF.

Blender's own importers and exporters (io_scene_fbx, io_scene_gltf2, both inside bpy) do the work;
this module only picks the objects and the frame range.
"""

from __future__ import annotations

from pathlib import Path

import bpy

from magicdance_core.errors import BadInput

from . import retarget


def _enable(module: str, op) -> None:
    if not hasattr(op[0], op[1]):
        import addon_utils

        addon_utils.enable(module, default_set=True)


def load_character_file(path) -> None:
    """Make ``path`` the current scene: a .blend is opened, FBX / glTF imported into an empty one."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".blend":
        bpy.ops.wm.open_mainfile(filepath=str(path), load_ui=False)
        return
    bpy.ops.wm.read_factory_settings(use_empty=True)
    try:
        if suffix == ".fbx":
            _enable("io_scene_fbx", (bpy.ops.import_scene, "fbx"))
            res = bpy.ops.import_scene.fbx(filepath=str(path))
        elif suffix in (".glb", ".gltf"):
            _enable("io_scene_gltf2", (bpy.ops.import_scene, "gltf"))
            res = bpy.ops.import_scene.gltf(filepath=str(path))
        else:
            raise BadInput(f"{path.name}: not a .blend, .fbx, .glb or .gltf file")
    except RuntimeError as e:   # the importer's own message, one line
        raise BadInput(f"{path.name} could not be read: {str(e).strip().splitlines()[-1]}") from None
    if "FINISHED" not in res:
        raise BadInput(f"{path.name} could not be read")


def pick_character(scene, name=None):
    """The character armature: the one called ``name``, else the scene's only non-dancer armature."""
    arms = [ob for ob in scene.objects if retarget.is_character(ob)]
    if name:
        ob = scene.objects.get(name)
        if ob is None or not retarget.is_character(ob):
            raise BadInput(f"--armature: no character armature named {name!r} "
                           f"(armatures: {', '.join(o.name for o in arms) or 'none'})")
        return ob
    if not arms:
        raise BadInput("the character file holds no armature")
    if len(arms) > 1:
        raise BadInput(f"the file holds several armatures ({', '.join(o.name for o in arms)}): "
                       f"name one with --armature")
    return arms[0]


def character_objects(ob):
    """The armature and the meshes it deforms (its children, or meshes with an Armature modifier on it)."""
    out = [ob]
    for o in bpy.data.objects:
        if o.type != "MESH" or o is ob:
            continue
        if o.parent == ob or any(m.type == "ARMATURE" and m.object == ob for m in o.modifiers):
            out.append(o)
    return out


def export_character(ob, path, frame_start: int, frame_end: int) -> None:
    """Write the character (armature + its meshes) with its active Action to .fbx or .glb."""
    path = Path(path)
    suffix = path.suffix.lower()
    ctx = bpy.context
    for o in ctx.view_layer.objects:
        o.select_set(False)
    for o in character_objects(ob):
        if o.name in ctx.view_layer.objects:
            o.select_set(True)
    ctx.view_layer.objects.active = ob
    scene = ctx.scene
    old = scene.frame_start, scene.frame_end
    scene.frame_start, scene.frame_end = int(frame_start), int(frame_end)
    try:
        if suffix == ".fbx":
            _enable("io_scene_fbx", (bpy.ops.export_scene, "fbx"))
            res = bpy.ops.export_scene.fbx(filepath=str(path), use_selection=True,
                                           object_types={"ARMATURE", "MESH"}, bake_anim=True,
                                           bake_anim_use_all_actions=False, bake_anim_use_nla_strips=False,
                                           bake_anim_force_startend_keying=True, add_leaf_bones=False)
        elif suffix == ".glb":
            _enable("io_scene_gltf2", (bpy.ops.export_scene, "gltf"))
            res = bpy.ops.export_scene.gltf(filepath=str(path), use_selection=True,
                                            export_format="GLB",
                                            export_animations=True, export_animation_mode="ACTIVE_ACTIONS",
                                            export_frame_range=True, export_force_sampling=True,
                                            export_def_bones=False)
        else:
            raise BadInput(f"{path.name}: export writes .fbx or .glb")
    finally:
        scene.frame_start, scene.frame_end = old
    if "FINISHED" not in res:
        raise RuntimeError(f"Blender's exporter did not write {path}")
