"""The scene stage: a Blender scene (music, dancer, the job's dance as a take, the photo's camera).

magicdance_core never imports bpy: this is the ``scene`` action of the add-on's headless entry
point (blender_addon/headless.py), run as a child process; the core only hands it file paths.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from ..blender_process import run_action
from ..progress import ProgressFn


def build_scene_file(song: Path, motion_path: Path, out_blend: Path, timeout: Optional[float] = 300,
                     progress: Optional[ProgressFn] = None, landmarks: Optional[Path] = None) -> None:
    """``landmarks``: the photo's landmarks JSON (the camera is aligned to the person)."""
    argv = [song, "-o", out_blend, "--motion", motion_path]
    if landmarks is not None:
        argv += ["--landmarks", landmarks]
    run_action("scene", argv, progress, timeout=timeout)
