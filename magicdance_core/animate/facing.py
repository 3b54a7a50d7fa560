"""Keep the dance facing the camera and near where the photo's person stands.

The photo shows no back, and its camera is fixed and aligned to the person on frame 0: a dancer
who turns away or travels half a metre sideways leaves the photo's pixels (or the frame).

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


def limit_travel(motion: Motion, radius_m: float = 0.15) -> Motion:
    """Softly bound the pelvis's floor-plane travel to ``radius_m`` around its frame-0 position.

    Frame 0 is unchanged (the camera was aligned to it); the offset from it is compressed with
    ``r * tanh(d / r)`` (no kinks, small sways untouched). The whole body moves with the pelvis,
    so a foot planted during a long travel slides a little: for a photo that is the lesser evil.
    ``radius_m`` None or <= 0 leaves the motion as it is.
    """
    if radius_m is None or radius_m <= 0:
        return motion
    trans = motion.trans.astype(np.float64).copy()
    d = trans[:, [0, 2]] - trans[0, [0, 2]]
    dist = np.linalg.norm(d, axis=1, keepdims=True)
    scale = np.where(dist > 1e-9, radius_m * np.tanh(dist / radius_m) / np.maximum(dist, 1e-9), 1.0)
    trans[:, [0, 2]] = trans[0, [0, 2]] + d * scale
    meta = dict(motion.meta)
    meta["travel_limited_m"] = float(radius_m)
    return Motion(poses=motion.poses.copy(), trans=trans.astype(np.float32), contacts=motion.contacts,
                  betas=motion.betas, fps=motion.fps, meta=meta)
