"""Render examples/mannequin.png: a frontal, full-body, person-like figure we own (A-pose).

The product is checked on frontal full-body photos of people, and no redistributable one
exists in the packages here, so we render one: the project's built-in body
(magicdance_core.body.builtin_mesh) posed in an A-pose, dressed by DensePose part (shirt,
trousers, shoes, skin), with hair and a simple face (eyes, brows, nose, mouth, ears) so that
mediapipe's face-anchored person detector finds it. Blender Workbench, studio light.

Run from the repository root:  .venv/bin/python examples/make_mannequin_photo.py [-o OUT.png]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bpy  # noqa: E402
import numpy as np  # noqa: E402

from magicdance_core.body.builtin_mesh import build_builtin_body, skin  # noqa: E402
from magicdance_core.body.skeleton import JOINT_INDEX as J, REST_PELVIS_HEIGHT  # noqa: E402

W, H = 384, 640
SKIN = (0.80, 0.58, 0.46)
SHIRT = (0.15, 0.35, 0.62)
TROUSERS = (0.18, 0.18, 0.22)
SHOES = (0.06, 0.05, 0.05)
HAIR = (0.14, 0.09, 0.06)
# DensePose part -> clothing colour: short-sleeved shirt, long trousers, bare forearms
PART_COLOUR = {1: SHIRT, 2: SHIRT, 15: SHIRT, 16: SHIRT, 17: SHIRT, 18: SHIRT,
               3: SKIN, 4: SKIN, 19: SKIN, 20: SKIN, 21: SKIN, 22: SKIN, 23: SKIN, 24: SKIN,
               5: SHOES, 6: SHOES}
PART_COLOUR.update({p: TROUSERS for p in range(7, 15)})


def zup(p):
    p = np.asarray(p, float)
    return np.stack([p[..., 0], -p[..., 2], p[..., 1]], -1)


def material(name, rgb):
    m = bpy.data.materials.new(name)
    m.diffuse_color = (*rgb, 1.0)
    return m


def add_mesh(name, V, F, mats, mat_index):
    me = bpy.data.meshes.new(name)
    me.from_pydata([tuple(v) for v in V], [], [tuple(f) for f in F])
    for m in mats:
        me.materials.append(m)
    me.polygons.foreach_set("material_index", np.asarray(mat_index, np.int32))
    me.polygons.foreach_set("use_smooth", np.ones(len(F), bool))
    me.update()
    ob = bpy.data.objects.new(name, me)
    bpy.context.scene.collection.objects.link(ob)
    return ob


def ellipsoid(name, centre, radii, rgb):
    bpy.ops.mesh.primitive_uv_sphere_add(segments=24, ring_count=12, location=tuple(centre))
    ob = bpy.context.active_object
    ob.name = name
    ob.scale = tuple(radii)
    ob.data.materials.append(material(name, rgb))
    bpy.ops.object.shade_smooth()
    return ob


def build(out: Path) -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    body = build_builtin_body()
    poses = np.zeros((24, 3))
    a = math.radians(58)                       # A-pose: arms down and out
    poses[J["left_shoulder"]] = (0, 0, -a)
    poses[J["right_shoulder"]] = (0, 0, a)
    poses[J["left_elbow"]] = (0, 0, -0.12)
    poses[J["right_elbow"]] = (0, 0, 0.12)
    poses[J["left_hip"]] = (0, 0, 0.07)        # feet a little apart
    poses[J["right_hip"]] = (0, 0, -0.07)
    V = skin(body, poses, np.array([0.0, REST_PELVIS_HEIGHT, 0.0]))
    parts = sorted(set(int(p) for p in body.face_parts))
    mats = [material(f"part_{p:02d}", PART_COLOUR[p]) for p in parts]
    idx = {p: i for i, p in enumerate(parts)}
    add_mesh("Person", zup(V), body.faces, mats, [idx[int(p)] for p in body.face_parts])

    # face and hair, placed on the (unposed) skull: centre as builtin_mesh's skull segment
    head = body.rest_joints[J["head"]] + np.array([0.0, REST_PELVIS_HEIGHT, 0.0])
    sk = head + np.array([0.0, 0.07, 0.015])
    fz = sk[2] + 0.085                         # front of the face
    feat = lambda x, y, z: zup(sk + np.array([x, y, z]))  # noqa: E731
    ellipsoid("Hair", feat(0.0, 0.05, -0.02), (0.094, 0.108, 0.088), HAIR)   # cap over top and back
    for s in (1, -1):
        ellipsoid(f"EyeWhite{s}", feat(0.035 * s, 0.0, 0.087), (0.016, 0.012, 0.009), (0.95, 0.95, 0.95))
        ellipsoid(f"Iris{s}", feat(0.035 * s, 0.0, 0.095), (0.0075, 0.0075, 0.004), (0.12, 0.08, 0.05))
        ellipsoid(f"Brow{s}", feat(0.037 * s, 0.024, 0.092), (0.02, 0.004, 0.006), HAIR)
        ellipsoid(f"Ear{s}", feat(0.098 * s, -0.005, -0.005), (0.012, 0.02, 0.03), tuple(c * 0.9 for c in SKIN))
    ellipsoid("Nose", feat(0.0, -0.022, 0.098), (0.012, 0.022, 0.016), tuple(c * 0.92 for c in SKIN))
    ellipsoid("Mouth", feat(0.0, -0.055, 0.08), (0.022, 0.006, 0.008), (0.55, 0.22, 0.22))

    # a floor and a wall, plain
    bpy.ops.mesh.primitive_plane_add(size=20, location=(0, 0, 0))
    bpy.context.active_object.data.materials.append(material("Floor", (0.55, 0.52, 0.48)))
    bpy.ops.mesh.primitive_plane_add(size=20, location=(0, 3, 5), rotation=(math.pi / 2, 0, 0))
    bpy.context.active_object.data.materials.append(material("Wall", (0.82, 0.84, 0.86)))

    cam_data = bpy.data.cameras.new("Camera")
    cam_data.sensor_fit = "VERTICAL"
    cam_data.angle = math.radians(24)
    cam = bpy.data.objects.new("Camera", cam_data)
    scene.collection.objects.link(cam)
    cam.location = (0.0, -5.5, 1.0)
    cam.rotation_euler = (math.pi / 2, 0.0, 0.0)   # looking along +Y at the figure's front
    scene.camera = cam

    scene.render.engine = "BLENDER_WORKBENCH"
    sh = scene.display.shading
    sh.light = "STUDIO"
    sh.color_type = "MATERIAL"
    sh.show_shadows = True
    sh.show_cavity = True
    scene.display.render_aa = "8"
    scene.view_settings.view_transform = "Standard"
    scene.render.resolution_x, scene.render.resolution_y = W, H
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    scene.render.image_settings.compression = 100
    scene.render.filepath = str(out)
    bpy.ops.render.render(write_still=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", "--out", default=str(ROOT / "examples" / "mannequin.png"))
    args = ap.parse_args()
    build(Path(args.out).resolve())
    print("wrote", args.out)


if __name__ == "__main__":
    main()
