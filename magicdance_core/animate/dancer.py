"""The dancer as seen from the camera aligned to the photo (magicdance_core.camera)."""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..body.motion_file import Motion
from .base import DancerInput


def dancer_from_motion(motion: Motion, photo, passes_dir=None, camera=None) -> DancerInput:
    """Project ``motion``'s joints with ``camera`` (default: aligned to ``photo`` on frame 0)."""
    from ..camera import align_to_photo

    joints = np.asarray(motion.joints, dtype=np.float64)
    if camera is None:
        camera = align_to_photo(joints[0], photo.camera_landmarks()).camera
    uv, z = camera.project(joints, return_depth=True)
    return DancerInput(joints2d=uv, depth=z, joints3d=joints, focal_px=float(camera.f),
                       fps=float(motion.fps), passes_dir=passes_dir)
