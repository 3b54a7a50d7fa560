"""The photo's joints in the viewport: the photo as an image empty, one small empty per landmark.

What ``magicdance photo`` found (or the skeleton it wrote for a drawing) can be looked at and
corrected in Blender: move the joint empties in the front view, then write them back as a
landmarks file for ``--landmarks`` (AnimatedDrawings' workflow). The photo stands upright in
the XZ plane facing -Y (Blender's front view, numpad 1), its long side ``SIZE`` metres; each joint
empty is parented to it, so its local (x, y) are the photo's pixels mapped to that rectangle.
"""

from __future__ import annotations

import math
import os

import bpy

PHOTO_OBJECT = "MagicDance Photo"
JOINT_PREFIX = "MD joint "
SIZE = 2.0                  # metres: the photo's long side
JOINT_SIZE = 0.02           # metres: a joint empty's radius
COLLECTION = "MagicDance Photo Joints"


def _local(x: float, y: float, w: int, h: int) -> tuple:
    """Photo pixel -> the image empty's local coordinates (centred, y up)."""
    s = SIZE / max(w, h)
    return ((x - w / 2.0) * s, (h / 2.0 - y) * s, 0.0)


def _pixel(loc, w: int, h: int) -> tuple:
    s = SIZE / max(w, h)
    return (loc[0] / s + w / 2.0, h / 2.0 - loc[1] / s)


def show_photo_joints(context, photo_path: str, landmarks_path: str):
    """Make (or remake) the photo empty and its 33 joint empties; returns the photo object.

    ``landmarks_path``: a landmarks file (landmarks_edit.json, or an analysis folder's
    landmarks.json); raises the core's BadInput for a bad one."""
    from magicdance_core.photo.landmarks_file import NAMES, VISIBLE, read_landmarks_file

    img = bpy.data.images.load(photo_path, check_existing=True)
    w, h = int(img.size[0]), int(img.size[1])
    pts, vis, source = read_landmarks_file(landmarks_path, (w, h))
    clear_photo_joints()
    coll = bpy.data.collections.get(COLLECTION) or bpy.data.collections.new(COLLECTION)
    if coll.name not in context.scene.collection.children:
        context.scene.collection.children.link(coll)
    photo = bpy.data.objects.new(PHOTO_OBJECT, None)
    photo.empty_display_type = "IMAGE"
    photo.data = img
    photo.empty_display_size = SIZE
    photo.empty_image_offset = (-0.5, -0.5)
    photo.rotation_euler = (math.pi / 2, 0.0, 0.0)   # upright, facing -Y (front view)
    photo.location = (0.0, 0.0, SIZE * h / max(w, h) / 2.0)
    photo["magicdance_photo"] = os.path.abspath(photo_path)
    photo["magicdance_landmarks"] = os.path.abspath(landmarks_path)
    photo["magicdance_landmarks_source"] = source
    coll.objects.link(photo)
    for i, name in enumerate(NAMES):
        j = bpy.data.objects.new(JOINT_PREFIX + name, None)
        j.empty_display_type = "SPHERE" if vis[i] >= VISIBLE else "CIRCLE"   # a ring: not in the picture
        j.empty_display_size = JOINT_SIZE
        j.parent = photo
        j.location = _local(pts[i, 0], pts[i, 1], w, h)
        j["magicdance_joint"] = name
        j["magicdance_visibility"] = float(vis[i])
        j.show_name = name in ("nose", "left_shoulder", "right_shoulder", "left_wrist", "right_wrist",
                               "left_hip", "right_hip", "left_ankle", "right_ankle")
        j.lock_location[2] = True   # joints move in the photo's plane only
        coll.objects.link(j)
    return photo


def clear_photo_joints() -> None:
    for ob in list(bpy.data.objects):
        if ob.name == PHOTO_OBJECT or ob.name.startswith(PHOTO_OBJECT + ".") or "magicdance_joint" in ob:
            bpy.data.objects.remove(ob, do_unlink=True)


def save_photo_joints(out_path: str) -> str:
    """Write the joint empties' positions as a landmarks file (the photo's pixels)."""
    from magicdance_core.errors import BadInput
    from magicdance_core.photo.landmarks_file import NAMES, write_landmarks_file

    photo = bpy.data.objects.get(PHOTO_OBJECT)
    if photo is None or photo.data is None:
        raise BadInput("no photo joints in the scene: use Show Photo Joints first")
    w, h = int(photo.data.size[0]), int(photo.data.size[1])
    joints = {ob["magicdance_joint"]: ob for ob in photo.children if "magicdance_joint" in ob}
    missing = [n for n in NAMES if n not in joints]
    if missing:
        raise BadInput(f"joint empties were deleted: {', '.join(missing)}; use Show Photo Joints again")
    import numpy as np

    pts = np.array([_pixel(joints[n].location, w, h) for n in NAMES])
    vis = np.array([float(joints[n].get("magicdance_visibility", 1.0)) for n in NAMES])
    write_landmarks_file(out_path, pts, vis, (w, h), source="user",
                         photo_name=os.path.basename(photo.get("magicdance_photo", "")))
    return out_path
