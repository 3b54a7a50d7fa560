"""Foot-slide removal: plant feet the model says are in contact, with leg IK.

For each foot, runs of frames whose predicted contact (ankle or toe) exceeds
0.5 are planted: the ankle's floor position (x, z) is held at its value in the
middle of the run, its height is left as generated, and the hip/knee/ankle
rotations are re-solved with the choreographer's analytic two-bone IK
(:mod:`magicdance_core.choreo.ik`), keeping the foot's world orientation and
the knee's bending plane. The correction fades in and out over a few frames
outside each run so nothing pops. Where two plants are so close that their fades overlap
(a lift of a few frames the model barely made), the foot is carried from one hold to the
next as a small step on an arc in the frames between the plants (at least 5), so it neither
jumps nor slides along the floor, and each plant holds its own point.

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


def _step(target, lift, s, e, p0, p1, max_lift: float = 0.1) -> None:
    """Frames s..e-1, the foot's time in the air between two plants whose fades overlap: carry
    it from p0 to p1 as a step on an arc (up to 10 cm, less for a short step) instead of
    jumping between the two holds in one frame or sliding between them. ``lift`` collects the
    arc's height (the largest where steps meet)."""
    u = (np.arange(s, e) - s + 1.0) / (e - s + 1.0)   # 0 on the first plant's last frame, 1 on the next's first
    travel = np.clip((u - 0.25) / 0.5, 0.0, 1.0)      # lift off, travel, then set down
    travel = travel * travel * (3 - 2 * travel)       # smoothstep
    target[s:e, 0] = p0[0] + travel * (p1[0] - p0[0])
    target[s:e, 2] = p0[1] + travel * (p1[1] - p0[1])
    d = float(np.linalg.norm(p1 - p0))
    if d > 0.02:
        lift[s:e] = np.maximum(lift[s:e], min(max_lift, d) * np.sin(np.pi * u))


def _air_time(a0: int, b0: int, a1: int, b1: int, min_frames: int = 5) -> tuple:
    """Frames [s, e) a step between plants [a0, b0) and [a1, b1) takes: the frames between
    them, widened into the plants' ends to ``min_frames`` (a one-frame lift cannot carry the
    foot anywhere without a jump) while each plant keeps at least one frame."""
    s, e = b0, a1
    while e - s < min_frames and (s > a0 + 1 or e < b1 - 1):
        if s > a0 + 1:
            s -= 1
        if e - s < min_frames and e < b1 - 1:
            e += 1
    return s, e


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
        lift = np.zeros(T)
        weight = np.zeros(T)
        runs = []
        for a, b in _runs(c):
            if b - a < min_run:
                continue
            mid = (a + b - 1) // 2
            lo, hi = max(0, a - fade), min(T, b + fade)
            i = np.arange(lo, hi)
            dist = np.maximum(np.maximum(a - i, i - (b - 1)), 0)
            w = np.clip(1.0 - dist / (fade + 1.0), 0.0, 1.0)
            weight[lo:hi] = np.maximum(weight[lo:hi], w)
            target[lo:hi, 0], target[lo:hi, 2] = pos[mid, ankle, 0], pos[mid, ankle, 2]
            runs.append((a, b, lo, hi, pos[mid, ankle, [0, 2]]))
        for (a0, b0, _, hi0, p0), (a1, b1, lo1, _, p1) in zip(runs, runs[1:]):
            if lo1 < hi0:  # fades overlap: a short lift between two plants becomes a step
                s_, e_ = _air_time(a0, b0, a1, b1)
                target[lo1:s_, 0], target[lo1:s_, 2] = p0      # each plant holds its own point
                target[e_:hi0, 0], target[e_:hi0, 2] = p1
                _step(target, lift, s_, e_, p0, p1)
        target[:, 1] += lift
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
