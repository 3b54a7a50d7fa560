"""The dancer: an SMPL-topology armature with a skinned body labelled by DensePose part.

Conventions (DESIGN.md): the armature object carries a +90° rotation about X,
so armature space is SMPL's frame (Y up, the body faces +Z, person's left +X)
and the world is Blender's (Z up, the dancer faces -Y, i.e. the front view).
Every bone's rest matrix has identity orientation (the bone points along
armature +Y, roll 0), so a pose bone's local quaternion *is* SMPL's local
rotation and the pelvis bone's location is the motion's ``trans``.
"""

from __future__ import annotations

import math

import bpy
import numpy as np

from magicdance_core.body import skeleton
from magicdance_core.errors import BadInput

BONE_LENGTH = 0.08
PART_MATERIAL_PREFIX = "MD_part_"
BODY_SUFFIX = "_body"


def part_color(part: int) -> tuple:
    """RGBA of DensePose part ``part`` (MagicAnimate's viridis table) as material colour.

    The passes render with the Raw view transform, so the material holds the
    8-bit value / 255 and the rendered byte is exactly the table's.
    """
    from magicdance_core.passes.colors import DENSEPOSE_COLORS

    r, g, b = (float(c) / 255.0 for c in DENSEPOSE_COLORS[part])
    return (r, g, b, 1.0)


def _ensure_object_mode(context) -> None:
    obj = context.view_layer.objects.active
    if obj is not None and obj.mode != "OBJECT":
        bpy.ops.object.mode_set(mode="OBJECT")


def _build_armature(scene, name: str, rest: np.ndarray):
    arm_data = bpy.data.armatures.new(name)
    arm_data.display_type = "STICK"
    arm = bpy.data.objects.new(name, arm_data)
    scene.collection.objects.link(arm)
    arm.rotation_mode = "XYZ"
    arm.rotation_euler = (math.pi / 2, 0.0, 0.0)
    arm.show_in_front = True
    context = bpy.context
    view_layer = context.view_layer if context.scene == scene else scene.view_layers[0]
    prev_active = view_layer.objects.active
    _ensure_object_mode(context)
    view_layer.objects.active = arm
    # Edit-mode needs an override when the scene is not the window's scene.
    with context.temp_override(scene=scene, view_layer=view_layer, active_object=arm, object=arm):
        bpy.ops.object.mode_set(mode="EDIT")
        ebones = []
        for j, jname in enumerate(skeleton.JOINT_NAMES):
            eb = arm_data.edit_bones.new(jname)
            head = rest[j]
            eb.head = tuple(head)
            eb.tail = (head[0], head[1] + BONE_LENGTH, head[2])   # +Y, roll 0: identity rest orientation
            eb.roll = 0.0
            p = skeleton.PARENTS[j]
            if p >= 0:
                eb.parent = ebones[p]
                eb.use_connect = False
            ebones.append(eb)
        bpy.ops.object.mode_set(mode="OBJECT")
    view_layer.objects.active = prev_active if prev_active is not None else arm
    for pb in arm.pose.bones:
        pb.rotation_mode = "QUATERNION"
    arm["magicdance_dancer"] = True
    return arm


def load_body(smpl_model_path=None):
    """The body (a BuiltinBody, armature space): the user's SMPL mesh or the built-in one."""
    if smpl_model_path:
        from magicdance_core.body import smpl_mesh

        return smpl_mesh.load_smpl_body(smpl_model_path)
    from magicdance_core.body.builtin_mesh import build_builtin_body

    return build_builtin_body()


def _build_body(scene, arm, name: str, b):
    V, F, parts, W, UV = b.vertices, b.faces, b.face_parts, b.weights, b.uv
    mesh = bpy.data.meshes.new(name)
    nv, nf = len(V), len(F)
    mesh.vertices.add(nv)
    mesh.vertices.foreach_set("co", np.asarray(V, np.float32).ravel())
    mesh.loops.add(nf * 3)
    mesh.loops.foreach_set("vertex_index", np.asarray(F, np.int32).ravel())
    mesh.polygons.add(nf)
    mesh.polygons.foreach_set("loop_start", np.arange(0, nf * 3, 3, dtype=np.int32))
    mesh.polygons.foreach_set("loop_total", np.full(nf, 3, np.int32))   # 4.x keeps this writable
    mesh.update(calc_edges=True)
    mesh.validate(verbose=False)
    # Per-part UV (IUV's U,V) as a UV map, part ids as an integer face attribute.
    uv_layer = mesh.uv_layers.new(name="IUV")
    uv_layer.data.foreach_set("uv", np.asarray(UV, np.float32)[np.asarray(F).ravel()].ravel())
    attr = mesh.attributes.new("densepose_part", "INT", "FACE")
    attr.data.foreach_set("value", np.asarray(parts, np.int32))
    # One material slot per DensePose part (slot index = part - 1).
    for part in range(1, 25):
        mname = f"{PART_MATERIAL_PREFIX}{part:02d}"
        mat = bpy.data.materials.get(mname)
        if mat is None:
            mat = bpy.data.materials.new(mname)
            mat.diffuse_color = part_color(part)
            mat["densepose_part"] = part
        mesh.materials.append(mat)
    mesh.polygons.foreach_set("material_index", np.asarray(parts, np.int32) - 1)
    mesh.polygons.foreach_set("use_smooth", np.ones(nf, bool))
    body = bpy.data.objects.new(name, mesh)
    scene.collection.objects.link(body)
    body.parent = arm
    # Vertex groups named as the bones; weights grouped by value so each add() is one call.
    W = np.asarray(W)
    for j, jname in enumerate(skeleton.JOINT_NAMES):
        vg = body.vertex_groups.new(name=jname)
        w = np.round(W[:, j], 5)
        nz = np.nonzero(w > 0)[0]
        for val in np.unique(w[nz]):
            vg.add(nz[w[nz] == val].tolist(), float(val), "REPLACE")
    mod = body.modifiers.new("Armature", "ARMATURE")
    mod.object = arm
    mod.use_vertex_groups = True
    body["magicdance_body"] = True
    return body


def add_dancer(scene, name: str = "Dancer", smpl_model_path=None):
    """Add the dancer (armature + skinned body) to ``scene``; returns the armature object.

    ``smpl_model_path`` is an SMPL model file or a folder holding one (as
    ``magicdance_core.body.smpl_model`` accepts); the rig is then built on that
    model's rest joints so bones and skin line up.
    """
    if smpl_model_path and not str(smpl_model_path).strip():
        smpl_model_path = None
    if smpl_model_path:
        import os

        # exists, not isfile: a folder is resolved to its SMPL_<GENDER> file by the loader.
        if not os.path.exists(smpl_model_path):
            raise BadInput(f"SMPL model file not found: {smpl_model_path} (give the model file or its folder)")
    body = load_body(smpl_model_path)   # before touching the scene: a bad model file changes nothing
    # The rig is built on the body's joints: the project's skeleton for the built-in body,
    # the model's (with its betas) for a user's SMPL mesh.
    arm = _build_armature(scene, name, np.asarray(body.rest_joints, np.float64))
    if smpl_model_path:
        arm["md_smpl_model"] = str(smpl_model_path)
    try:
        _build_body(scene, arm, name + BODY_SUFFIX, body)
    except Exception:
        # Leave nothing half-built behind.
        data = arm.data
        bpy.data.objects.remove(arm)
        bpy.data.armatures.remove(data)
        raise
    return arm


def find_dancer(scene, prefer=None):
    """The dancer armature: ``prefer`` if it is one, else the scene's first."""
    if prefer is not None and prefer.type == "ARMATURE" and prefer.get("magicdance_dancer"):
        return prefer
    for ob in scene.objects:
        if ob.type == "ARMATURE" and ob.get("magicdance_dancer"):
            return ob
    return None


def body_of(arm):
    for ch in arm.children:
        if ch.get("magicdance_body"):
            return ch
    return None


def yup_to_zup(p) -> np.ndarray:
    """SMPL frame (Y up) to Blender world (Z up): the armature object's +90° X rotation."""
    p = np.asarray(p, dtype=np.float64)
    return np.stack([p[..., 0], -p[..., 2], p[..., 1]], -1)


def world_joints(arm) -> np.ndarray:
    """World joint positions (24,3), Blender frame (Z up), of the armature's current pose.

    Call after ``scene.frame_set`` / ``view_layer.update()``; compare with
    ``yup_to_zup(core FK joints)``.
    """
    mw = np.array(arm.matrix_world, dtype=np.float64)
    heads = np.array([arm.pose.bones[n].head for n in skeleton.JOINT_NAMES], dtype=np.float64)
    return heads @ mw[:3, :3].T + mw[:3, 3]
