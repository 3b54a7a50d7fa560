"""Build a MagicDance scene without a window: music, markers, dancer, a first take, a camera.

Shared by ``magicdance scene`` and ``blender -b -P scripts/headless_scene.py``;
everything runs in-process.  The .blend is written to a temporary name and
renamed, so a failed run leaves no file.
"""

from __future__ import annotations

import os
from pathlib import Path

import bpy

from magicdance_core.errors import BadInput
from magicdance_core.fileio import require_file

from . import dancer, generation, music, takes


def build_scene(song, out_blend, *, style=None, seed: int = 0, steps: int = 0, photo=None,
                foot_lock: bool = False, markers: bool = True, progress=None) -> Path:
    out = Path(out_blend)
    if out.suffix.lower() != ".blend":
        raise BadInput(f"the output must be a .blend file: {out}")
    if not out.parent.is_dir():
        raise BadInput(f"folder does not exist: {out.parent}")
    require_file(song, "music file")
    if photo is not None:
        require_file(photo, "photo")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.name = "MagicDance"
    progress = progress or (lambda *a: None)
    progress("scene", 0.0, "music")
    music.import_music(scene, str(song), markers=markers, progress=progress)
    progress("scene", 0.5, "dancer")
    arm = dancer.add_dancer(scene)
    req = generation.generate_request(scene, style=style, seed=seed, steps=steps)
    res = generation.run_inprocess(req, progress)
    act = generation.apply_generate(scene, arm, res, foot_lock=foot_lock)
    progress("scene", 0.8, "camera")
    _camera(scene, act, photo)
    progress("scene", 0.9, "saving")
    tmp = out.with_name(f".{out.stem}.part.blend")
    try:
        bpy.ops.wm.save_as_mainfile(filepath=str(tmp), copy=True, compress=False)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    progress("scene", 1.0, str(out))
    return out


def _camera(scene, act, photo):
    """A camera framing the whole dance, or aligned to the photo's person when one is given."""
    try:
        from magicdance_core.camera import frame_motion

        from .camera import apply_camera
    except ImportError:
        return None   # the passes owner's camera code is not there: no camera
    m = takes.take_to_motion(act)
    if photo is not None:
        from magicdance_core.camera import align_to_photo
        from magicdance_core.photo.analyze import analyze_photo

        pa = analyze_photo(photo)
        cam = align_to_photo(m.joints[0], pa.camera_landmarks()).camera
        scene["md_photo"] = str(photo)
    else:
        cam = frame_motion(m.joints, 512, 512)
    return apply_camera(scene, cam)
