"""The scene stage: a Blender scene (music, dancer, the job's dance as a take) for the animator.

magicdance_core never imports bpy, so the Blender side runs in a child Python process
(the same interpreter, which has bpy as a module); the core only hands it file paths.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ..errors import MagicDanceError

_SCRIPT = r"""
import sys, os
root, song, motion_path, out = sys.argv[1:5]
sys.path.insert(0, root)
import bpy
from blender_addon import dancer, music, takes
from magicdance_core.body.motion_file import load_motion
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.name = "MagicDance"
music.import_music(scene, song)
arm = dancer.add_dancer(scene)
takes.write_take(arm, load_motion(motion_path), name="dance")
tmp = out + ".part.blend"
bpy.ops.wm.save_as_mainfile(filepath=tmp, copy=True, compress=False)
os.replace(tmp, out)
"""


def build_scene_file(song: Path, motion_path: Path, out_blend: Path, timeout: float = 300) -> None:
    root = Path(__file__).resolve().parents[2]
    try:
        r = subprocess.run([sys.executable, "-c", _SCRIPT, str(root), str(song), str(motion_path), str(out_blend)],
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise MagicDanceError("building the Blender scene timed out") from None
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["?"])[-1]
        raise MagicDanceError(f"building the Blender scene failed: {last}")
