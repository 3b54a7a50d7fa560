"""Guidance passes from the scene's dancer (Blender side of magicdance_core.passes).

Default path: the dancer's active take is read as a Motion (F-curves evaluated at
the scene's frames, or at fractional frames for 25 fps) and rendered by the same
core code as ``magicdance passes DANCE.npz`` -- so the operator, ``magicdance passes
SCENE.blend`` and the headless motion path give identical DensePose-style images.

``use_scene_mesh=True`` instead reads the evaluated body mesh every frame (honours
a user's SMPL body, weight painting or shape keys); parts come from the material
slots (slot i = part i+1), U,V from the "IUV" UV map.

``render_densepose_workbench`` renders the DensePose-style pass with Workbench
(Flat lighting, material colours, AA off, Raw view transform); it exists for the
engine comparison in benchmarks/passes (docs/passes.md explains the choice).
"""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np

from magicdance_core.errors import BadInput

from . import dancer as dancer_mod
from .camera import apply_camera


def _dancer(scene, dancer=None):
    arm = dancer_mod.find_dancer(scene, dancer)
    if arm is None:
        raise BadInput(f"scene '{scene.name}' has no MagicDance dancer (Add Dancer first)")
    return arm


def scene_frames(scene, fps=None):
    """(frame numbers, possibly fractional, and their fps) covering the scene's range."""
    from magicdance_core.body.resample import resample_indices

    src = scene.render.fps / scene.render.fps_base
    n = scene.frame_end - scene.frame_start + 1
    if n < 1:
        raise BadInput("the scene's frame range is empty")
    if fps is None or abs(float(fps) - src) < 1e-9:
        return scene.frame_start + np.arange(n, dtype=np.float64), float(src)
    if not np.isfinite(fps) or fps <= 0 or fps > 240:
        raise BadInput(f"fps must be in (0, 240], got {fps}")
    return scene.frame_start + resample_indices(n, src, float(fps)), float(fps)


def scene_motion(scene, dancer=None, fps=None):
    """The dancer's active take over the scene's frame range as a Motion (at ``fps``)."""
    from . import takes

    arm = _dancer(scene, dancer)
    action = arm.animation_data.action if arm.animation_data else None
    if action is None:
        raise BadInput(f"the dancer '{arm.name}' has no active take (Generate Dance first)")
    frames, out_fps = scene_frames(scene, fps)
    vals = takes.read_channels(action, frames)
    return takes.channels_to_motion(vals, fps=out_fps)


def _mesh_arrays(body):
    """Triangles, part per triangle and per-vertex UV of the body mesh (rest topology)."""
    me = body.data
    me.calc_loop_triangles()
    nt = len(me.loop_triangles)
    tri = np.zeros(nt * 3, np.int32)
    me.loop_triangles.foreach_get("vertices", tri)
    poly = np.zeros(nt, np.int32)
    me.loop_triangles.foreach_get("polygon_index", poly)
    mat = np.zeros(len(me.polygons), np.int32)
    me.polygons.foreach_get("material_index", mat)
    parts = np.clip(mat[poly] + 1, 1, 24)
    uv = np.zeros((len(me.vertices), 2), np.float32)
    layer = me.uv_layers.get("IUV")
    if layer is not None:
        luv = np.zeros(len(me.loops) * 2, np.float32)
        layer.data.foreach_get("uv", luv)
        lv = np.zeros(len(me.loops), np.int32)
        me.loops.foreach_get("vertex_index", lv)
        uv[lv] = luv.reshape(-1, 2)
    rest = np.zeros(len(me.vertices) * 3, np.float32)
    me.vertices.foreach_get("co", rest)
    return tri.reshape(-1, 3), parts, uv, rest.reshape(-1, 3)


def _zup_to_yup(p):
    return np.stack([p[..., 0], p[..., 2], -p[..., 1]], -1)


def _scene_mesh_frames(scene, arm, body, frames):
    """Yield (verts, joints, global rots) per frame from the evaluated scene (Y-up)."""
    from magicdance_core.body import skeleton

    for fr in frames:
        i = int(np.floor(fr))
        scene.frame_set(i, subframe=float(fr - i))
        dg = bpy.context.evaluated_depsgraph_get()
        ev = body.evaluated_get(dg)
        me = ev.data
        co = np.zeros(len(me.vertices) * 3, np.float32)
        me.vertices.foreach_get("co", co)
        mw = np.array(ev.matrix_world, dtype=np.float64)
        verts = _zup_to_yup(co.reshape(-1, 3).astype(np.float64) @ mw[:3, :3].T + mw[:3, 3])
        joints = _zup_to_yup(dancer_mod.world_joints(arm))
        # armature space is SMPL's frame (the object carries the +90 degree X rotation)
        rots = np.array([np.array(arm.pose.bones[n].matrix.to_3x3()) for n in skeleton.JOINT_NAMES])
        yield verts, joints, rots


def render_passes(scene, out_dir, passes=None, size: int = 512, progress=None, *, width=None, height=None,
                  fps=None, landmarks=None, skeleton=None, video: bool = True, use_scene_mesh: bool = False,
                  dancer=None, set_camera: bool = True):
    """Render the guidance passes of the scene's dancer into ``out_dir``; returns PassesResult.

    Also places the pass camera in the scene as "MagicDance Camera" (``set_camera``).
    """
    from magicdance_core.passes.api import choose_camera, render_motion_passes
    from magicdance_core.passes.render import PassRenderer
    from magicdance_core.passes.sequence import parse_passes, render_sequence

    passes = parse_passes(passes)
    W, H = int(width or size), int(height or size)
    if not (16 <= W <= 8192 and 16 <= H <= 8192):
        raise BadInput(f"image size {W}x{H} out of range (16..8192)")
    arm = _dancer(scene, dancer)
    if not use_scene_mesh:
        motion = scene_motion(scene, arm, fps)
        res = render_motion_passes(motion, out_dir, passes=passes, width=W, height=H, landmarks=landmarks,
                                   skeleton=skeleton, video=video, progress=progress)
    else:
        body = dancer_mod.body_of(arm)
        if body is None:
            raise BadInput(f"the dancer '{arm.name}' has no body mesh")
        frames, out_fps = scene_frames(scene, fps)
        faces, parts, uv, rest = _mesh_arrays(body)
        frame_now = scene.frame_current
        try:
            cache = list(_scene_mesh_frames(scene, arm, body, frames))
        finally:
            scene.frame_set(frame_now)
        joints = np.stack([c[1] for c in cache])
        cam, al = choose_camera(joints, cache[0][2], W, H, None, landmarks)
        renderer = PassRenderer(faces, parts, uv, cam, rest_vertices=rest, skeleton=skeleton)
        extra = {"source": "scene_mesh", "engine": "numpy-raster"}
        if al is not None:
            extra["alignment"] = al.to_dict()
        res = render_sequence(iter(cache), len(cache), renderer, out_dir, passes=passes, fps=out_fps,
                              video=video, progress=progress, extra_json=extra)
    if set_camera:
        apply_camera(scene, res.camera)
    return res


def render_blend_file(path, out_dir, *, passes=None, size=512, width=None, height=None, fps=None,
                      landmarks=None, skeleton=None, video=True, progress=None):
    """Headless: open SCENE.blend and render its dancer's passes (the file is not modified)."""
    try:
        bpy.ops.wm.open_mainfile(filepath=str(path))
    except RuntimeError as e:
        raise BadInput(f"{path}: not a readable .blend file ({str(e).splitlines()[0][:200]})") from None
    scene = bpy.context.scene
    return render_passes(scene, out_dir, passes=passes, size=size, width=width, height=height, fps=fps,
                         landmarks=landmarks, skeleton=skeleton, video=video, progress=progress,
                         set_camera=False)


# ------------------------------------------------------------------ engine comparison
def setup_workbench_densepose(scene, cam) -> None:
    """Workbench settings that give MagicAnimate's exact DensePose colours."""
    from magicdance_core.passes.colors import BACKGROUND_RGB

    r = scene.render
    r.engine = "BLENDER_WORKBENCH"
    r.dither_intensity = 0.0
    r.film_transparent = False
    r.image_settings.file_format = "PNG"
    r.image_settings.color_mode = "RGB"
    r.image_settings.color_depth = "8"
    sh = scene.display.shading
    sh.light = "FLAT"
    sh.color_type = "MATERIAL"
    sh.show_object_outline = False
    sh.show_cavity = False
    sh.show_shadows = False
    sh.show_specular_highlight = False
    scene.display.render_aa = "OFF"
    scene.view_settings.view_transform = "Raw"
    scene.view_settings.look = "None"
    scene.view_settings.exposure = 0.0
    scene.view_settings.gamma = 1.0
    if scene.world is None:
        scene.world = bpy.data.worlds.new("MagicDance Passes")
    scene.world.color = tuple(c / 255.0 for c in BACKGROUND_RGB)
    apply_camera(scene, cam)


def render_densepose_workbench(scene, out_dir, cam, frames, progress=None) -> list:
    """Render the DensePose-style pass with Workbench at the given (integer) frames."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    setup_workbench_densepose(scene, cam)
    arm = _dancer(scene)
    hidden = []
    for ob in scene.objects:   # only the dancer's body may show
        if ob.type in {"MESH", "CURVE", "SURFACE", "META", "FONT"} and ob.parent != arm and not ob.hide_render:
            ob.hide_render = True
            hidden.append(ob)
    paths = []
    try:
        for k, fr in enumerate(frames):
            scene.frame_set(int(fr))
            scene.render.filepath = str(out / f"{k:06d}.png")
            bpy.ops.render.render(write_still=True)
            paths.append(scene.render.filepath)
            if progress:
                progress("workbench", (k + 1) / len(frames), f"frame {k + 1}/{len(frames)}")
    finally:
        for ob in hidden:
            ob.hide_render = False
    return paths
