"""Analytic two-bone IK for the legs (hip -> knee -> ankle), batched over frames.

Given the pelvis' world rotation and position, an ankle target and a knee pole
direction, the knee lies where the law of cosines puts it in the plane of the
pole; thigh and shin rotations map their rest directions (with the rest forward
+Z as the second axis) onto the solved ones. The ankle's local rotation then
turns the foot to the requested world orientation. The ankle lands exactly on
the target whenever it is within reach, so a planted target never slides.
"""

from __future__ import annotations

import numpy as np

from ..body.skeleton import JOINT_INDEX, REST_OFFSETS

LEGS = {
    "left": (JOINT_INDEX["left_hip"], JOINT_INDEX["left_knee"], JOINT_INDEX["left_ankle"]),
    "right": (JOINT_INDEX["right_hip"], JOINT_INDEX["right_knee"], JOINT_INDEX["right_ankle"]),
}


def _unit(v):
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _frame(a, pole):
    """Columns: a, the pole made orthogonal to a, and their cross product."""
    e1 = _unit(a)
    e2 = _unit(pole - np.sum(pole * e1, -1, keepdims=True) * e1)
    return np.stack([e1, e2, np.cross(e1, e2)], -1)


def leg_lengths(side: str, offsets=None):
    off = REST_OFFSETS if offsets is None else offsets
    _, k, a = LEGS[side]
    return float(np.linalg.norm(off[k])), float(np.linalg.norm(off[a]))


def hip_positions(pelvis_rot, pelvis_pos, side: str, offsets=None):
    off = REST_OFFSETS if offsets is None else offsets
    h, _, _ = LEGS[side]
    return pelvis_pos + (pelvis_rot @ off[h][:, None])[..., 0]


def solve_leg(pelvis_rot, pelvis_pos, side: str, ankle_target, foot_rot, pole, offsets=None):
    """Local rotation matrices (hip, knee, ankle), each (T,3,3), and the reached ankle (T,3).

    pelvis_rot (T,3,3) world; pelvis_pos (T,3); ankle_target (T,3); foot_rot (T,3,3)
    desired world rotation of the ankle joint; pole (T,3) where the knee should point.
    """
    off = REST_OFFSETS if offsets is None else offsets
    _, k, a = LEGS[side]
    l1, l2 = leg_lengths(side, off)
    hip = hip_positions(pelvis_rot, pelvis_pos, side, off)
    d = ankle_target - hip
    dist = np.linalg.norm(d, axis=-1, keepdims=True)
    dist_c = np.clip(dist, abs(l1 - l2) + 1e-4, (l1 + l2) * 0.99995)
    u = _unit(d)
    along = (l1 * l1 - l2 * l2 + dist_c ** 2) / (2.0 * dist_c)
    height = np.sqrt(np.maximum(l1 * l1 - along ** 2, 0.0))
    v = _unit(pole - np.sum(pole * u, -1, keepdims=True) * u)
    knee = hip + along * u + height * v
    ankle = hip + dist_c * u
    fwd = np.array([0.0, 0.0, 1.0])
    thigh_rest = _frame(off[k][None], fwd[None])[0]
    shin_rest = _frame(off[a][None], fwd[None])[0]
    thigh = _frame(knee - hip, v) @ thigh_rest.T
    shin = _frame(ankle - knee, v) @ shin_rest.T
    hip_local = np.swapaxes(pelvis_rot, -1, -2) @ thigh
    knee_local = np.swapaxes(thigh, -1, -2) @ shin
    ankle_local = np.swapaxes(shin, -1, -2) @ foot_rot
    return hip_local, knee_local, ankle_local, ankle


def max_reach(side: str, offsets=None) -> float:
    l1, l2 = leg_lengths(side, offsets)
    return l1 + l2
