"""The passes' camera as a Blender camera object (so the animator sees the framing).

The core camera (magicdance_core.camera.Camera) lives in SMPL's Y-up frame with
OpenCV axes; Blender's world is Z up and a camera looks down its local -Z with +Y
up. The conversion is the armature's +90 degree X rotation: (x, y, z) -> (x, -z, y).
"""

from __future__ import annotations

import bpy
import numpy as np
from mathutils import Matrix

CAMERA_NAME = "MagicDance Camera"
SENSOR_MM = 36.0

_Y_TO_Z = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])


def camera_matrix_world(cam) -> Matrix:
    """4x4 Blender world matrix of a core Camera."""
    right = _Y_TO_Z @ cam.right
    up = _Y_TO_Z @ cam.up
    back = -(_Y_TO_Z @ cam.forward)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2] = right, up, back
    m[:3, 3] = _Y_TO_Z @ cam.position
    return Matrix(m.tolist())


def apply_camera(scene, cam, name: str = CAMERA_NAME, make_active: bool = True):
    """Create or update the camera object ``name`` to match core camera ``cam``; set the resolution."""
    ob = scene.objects.get(name)
    if ob is None or ob.type != "CAMERA":
        data = bpy.data.cameras.new(name)
        ob = bpy.data.objects.new(name, data)
        scene.collection.objects.link(ob)
    data = ob.data
    W, H = cam.width, cam.height
    data.type = "PERSP"
    data.sensor_fit = "HORIZONTAL" if W >= H else "VERTICAL"
    data.sensor_width = data.sensor_height = SENSOR_MM
    data.lens = cam.f / max(W, H) * SENSOR_MM
    # Principal point: core pixel centres sit at integers, Blender's at half-integers.
    data.shift_x = (W / 2 - cam.cx - 0.5) / max(W, H)
    data.shift_y = (cam.cy + 0.5 - H / 2) / max(W, H)
    data.clip_start, data.clip_end = 0.05, 200.0
    ob.matrix_world = camera_matrix_world(cam)
    scene.render.resolution_x, scene.render.resolution_y = W, H
    scene.render.resolution_percentage = 100
    scene.render.pixel_aspect_x = scene.render.pixel_aspect_y = 1.0
    ob["magicdance_camera"] = True
    if make_active:
        scene.camera = ob
    return ob
