"""Foot-slide removal: plant feet the model says are in contact, with leg IK.

For each foot, runs of frames whose predicted contact (ankle or toe) exceeds
0.5 are planted: the ankle's floor position (x, z) is held at its value in the
middle of the run, its height is left as generated, and the hip/knee/ankle
rotations are re-solved with the choreographer's analytic two-bone IK
(:mod:`magicdance_core.choreo.ik`), keeping the foot's world orientation and
the knee's bending plane. The correction fades in and out over a few frames
outside each run so nothing pops.

With ``floor_contacts`` a foot also counts as planted where it is on the floor
(ankle or toe within 5 cm of its resting height) and slower than ``slide_speed``
across it: a small model's contact channel misses some of those frames, and a
foot on the floor that drifts is what reads as skating.
"""

from __future__ import annotations

import numpy as np

from ..body.fk import forward_kinematics_matrices
from ..body.motion_file import Motion
from ..body.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from ..body.skeleton import CONTACT_HEIGHTS, CONTACT_JOINTS, JOINT_INDEX

FEET = {"left": (0, 1, JOINT_INDEX["left_hip"], JOINT_INDEX["left_knee"], JOINT_INDEX["left_ankle"]),
        "right": (2, 3, JOINT_INDEX["right_hip"], JOINT_INDEX["right_knee"], JOINT_INDEX["right_ankle"])}


def _runs(flag: np.ndarray):
    d = np.diff(np.concatenate([[0], flag.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def _on_floor(pos: np.ndarray, fps: float, margin: float, slide_speed: float) -> np.ndarray:
    """(T,4) foot joints (CONTACT_JOINTS order) low on the floor and sliding slower than slide_speed."""
    feet = pos[:, list(CONTACT_JOINTS)]
    low = feet[..., 1] - np.asarray(CONTACT_HEIGHTS)[None, :] < margin
    v = np.zeros(feet.shape[:2])
    if len(feet) > 1:
        step = np.linalg.norm(np.diff(feet[..., [0, 2]], axis=0), axis=-1) * fps
        v[1:] = step
        v[:-1] = np.maximum(v[:-1], step)
    return low & (v < slide_speed)


def remove_foot_sliding(motion: Motion, threshold: float = 0.5, fade: int = 4, min_run: int = 3,
                        locked: np.ndarray = None, floor_contacts: bool = True, floor_margin: float = 0.05,
                        slide_speed: float = 1.2) -> Motion:
    """A new Motion with planted feet; ``locked`` (T,24) bool marks joints that must not change."""
    from ..choreo.ik import solve_leg

    poses = motion.poses.astype(np.float64).copy()
    trans = motion.trans.astype(np.float64)
    T = len(poses)
    local = axis_angle_to_matrix(poses)
    pos, glob = forward_kinematics_matrices(local, trans)
    changed = False
    floor = _on_floor(pos, motion.fps, floor_margin, slide_speed) if floor_contacts else None
    for side, (ca, ct, hip, knee, ankle) in FEET.items():
        c = np.maximum(motion.contacts[:, ca], motion.contacts[:, ct]) > threshold
        if floor is not None:  # CONTACT_JOINTS and the contact channels share the order
            c |= floor[:, ca] | floor[:, ct]
        target = pos[:, ankle].copy()
        weight = np.zeros(T)
        # Where two runs' fades overlap (a short lift between two plants) the hold point is the
        # fade-weighted average of both runs' points, so the foot travels between them over
        # the gap instead of jumping from one to the other in a frame.
        w_sum, xz_sum = np.zeros(T), np.zeros((T, 2))
        for a, b in _runs(c):
            if b - a < min_run:
                continue
            mid = (a + b - 1) // 2
            lo, hi = max(0, a - fade), min(T, b + fade)
            i = np.arange(lo, hi)
            dist = np.maximum(np.maximum(a - i, i - (b - 1)), 0)
            w = np.clip(1.0 - dist / (fade + 1.0), 0.0, 1.0)
            weight[lo:hi] = np.maximum(weight[lo:hi], w)
            w_sum[lo:hi] += w
            xz_sum[lo:hi] += w[:, None] * pos[mid, ankle, [0, 2]][None, :]
        held = w_sum > 0
        target[np.ix_(held, [0, 2])] = xz_sum[held] / w_sum[held, None]
        if locked is not None:  # frames where the user fixed this leg stay exactly as given
            weight[locked[:, [hip, knee, ankle]].any(axis=1)] = 0.0
        frames = np.flatnonzero(weight > 0)
        if len(frames) == 0:
            continue
        w = weight[frames, None]
        goal = pos[frames, ankle] * (1 - w) + target[frames] * w
        pole = pos[frames, knee] - 0.5 * (pos[frames, hip] + pos[frames, ankle])
        hl, kl, al, _ = solve_leg(glob[frames, 0], trans[frames], side, goal, glob[frames, ankle], pole)
        local[frames, hip], local[frames, knee], local[frames, ankle] = hl, kl, al
        changed = True
    if not changed:
        return motion
    poses = matrix_to_axis_angle(local)
    return Motion(poses=poses, trans=trans, contacts=motion.contacts, betas=motion.betas, fps=motion.fps,
                  meta=dict(motion.meta))
