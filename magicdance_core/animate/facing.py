"""Keep the dance facing the camera: the photo shows no back.

The motion model's Constraints can pin the root yaw to values but not bound it, so we bound it
after generation: the root's yaw about +Y is softly limited to +-max_deg (tanh, no kinks) and
the joints are recomputed with the project's FK.
"""

from __future__ import annotations

import numpy as np

from ..body.motion_file import Motion
from ..body.rotations import axis_angle_to_matrix, matrix_to_axis_angle


def root_yaw(motion: Motion) -> np.ndarray:
    R = axis_angle_to_matrix(motion.poses[:, 0].astype(np.float64))
    fwd = R[:, :, 2]  # where the body's +Z points
    return np.arctan2(fwd[:, 0], fwd[:, 2])


def limit_yaw(motion: Motion, max_deg: float = 30.0) -> Motion:
    if max_deg is None or max_deg >= 180:
        return motion
    yaw = root_yaw(motion)
    yaw = np.unwrap(yaw)
    lim = np.radians(max_deg)
    new = lim * np.tanh(yaw / lim)
    d = new - yaw
    c, s = np.cos(d), np.sin(d)
    Ry = np.zeros((len(d), 3, 3))
    Ry[:, 0, 0], Ry[:, 0, 2], Ry[:, 1, 1], Ry[:, 2, 0], Ry[:, 2, 2] = c, s, 1.0, -s, c
    R = axis_angle_to_matrix(motion.poses[:, 0].astype(np.float64))
    poses = motion.poses.copy()
    poses[:, 0] = matrix_to_axis_angle(Ry @ R).astype(np.float32)
    meta = dict(motion.meta)
    meta["yaw_limited_deg"] = float(max_deg)
    return Motion(poses=poses, trans=motion.trans.copy(), contacts=motion.contacts, betas=motion.betas,
                  fps=motion.fps, meta=meta)
