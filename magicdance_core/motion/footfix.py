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


def floor_height(pos: np.ndarray, margin: float = 0.05) -> np.ndarray:
    """(T,4) height of the foot joints (CONTACT_JOINTS order) above where each stands: its lowest
    height in the clip (what a viewer, and the benchmark, take as the floor), or its resting
    height plus ``margin`` when the whole clip is higher than that (a foot held up all along)."""
    y = pos[:, list(CONTACT_JOINTS), 1]
    ref = np.minimum(y.min(axis=0), np.asarray(CONTACT_HEIGHTS) + margin)
    return y - ref[None, :]


def floor_flags(pos: np.ndarray, margin: float = 0.05) -> np.ndarray:
    """(T,4) foot joints on the floor: within ``margin`` of :func:`floor_height`'s floor."""
    return floor_height(pos, margin) < margin


def _distance_to(flag: np.ndarray) -> np.ndarray:
    """Frames from each frame to the nearest flagged one (0 on it; large where none is)."""
    T = len(flag)
    idx = np.arange(T)
    left = np.maximum.accumulate(np.where(flag, idx, -10 * T))
    right = np.minimum.accumulate(np.where(flag, idx, 11 * T)[::-1])[::-1]
    return np.minimum(idx - left, right - idx).astype(float)


def _yaw(rot: np.ndarray) -> np.ndarray:
    """Heading (radians about +Y) of the foot: the ankle's +Z axis (toes) in the floor plane."""
    return np.arctan2(rot[..., 0, 2], rot[..., 2, 2])


def _rot_y(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    R = np.zeros(a.shape + (3, 3))
    R[..., 0, 0], R[..., 0, 2], R[..., 1, 1], R[..., 2, 0], R[..., 2, 2] = c, s, 1.0, -s, c
    return R


HANDOVER_STEP = 0.02  # m a frame: the widest a fade's hand-over step (beside the model's own)
LOCK_FADE = 10       # frames over which the fix fades out towards a constrained leg
CONTACT_TRUST = 3.0   # x floor_margin: how high a foot the contact channel may still plant


def remove_foot_sliding(motion: Motion, threshold: float = 0.5, fade: int = 4, min_run: int = 2,
                        locked: np.ndarray = None, floor_contacts: bool = True, floor_margin: float = 0.05,
                        slide_speed: float = None) -> Motion:
    """A new Motion with planted feet; ``locked`` (T,24) bool marks joints that must not change.

    A foot is planted over every run of frames where its ankle or its toe is on the floor
    (:func:`floor_flags`) or the model's contact channel says so. In a run the joint on the floor
    holds its floor position (x, z) and the foot keeps its heading while the toe is down (no
    swivel): flat or on the heel, the ankle is held; on the ball of the foot, the toe is (the
    ankle goes where the foot's current tilt puts it). Heights stay as generated.
    ``slide_speed``: if given, floor frames moving faster than this are left to the model."""
    from ..choreo.ik import solve_leg

    poses = motion.poses.astype(np.float64).copy()
    trans = motion.trans.astype(np.float64)
    T = len(poses)
    local = axis_angle_to_matrix(poses)
    pos, glob = forward_kinematics_matrices(local, trans)
    changed = False
    height = floor_height(pos, floor_margin)
    # the model's contact channel is believed near the floor only (it says "contact" mid-jump)
    said = (motion.contacts > threshold) & (height < CONTACT_TRUST * floor_margin)
    floor = None
    if floor_contacts:
        floor = height < floor_margin
        if slide_speed is not None:
            floor &= _on_floor(pos, motion.fps, np.inf, slide_speed)
    for side, (ca, ct, hip, knee, ankle) in FEET.items():
        toe = CONTACT_JOINTS[ct]
        heel_down, toe_down = said[:, ca], said[:, ct]
        if floor is not None:  # CONTACT_JOINTS and the contact channels share the order
            heel_down = heel_down | floor[:, ca]
            toe_down = toe_down | floor[:, ct]
        c = heel_down | toe_down
        foot_vec = pos[:, toe] - pos[:, ankle]                 # ankle -> toe, world
        heading = np.unwrap(_yaw(glob[:, ankle]))
        target = pos[:, ankle].copy()
        turn = np.zeros(T)          # heading correction (radians about +Y), where turn_w > 0
        turn_w = np.zeros(T)
        lift = np.zeros(T)
        weight = np.zeros(T)
        runs = []
        for a, b in _runs(c):
            if b - a < min_run:
                continue
            idx = np.arange(a, b)
            flat = idx[heel_down[a:b] & toe_down[a:b]]
            r = int(flat[len(flat) // 2]) if len(flat) else (a + b - 1) // 2
            hold_a, hold_t = pos[r, ankle, [0, 2]], pos[r, toe, [0, 2]]
            keep = toe_down[a:b].astype(float)          # toe down: the foot does not swivel
            turn[a:b] = heading[r] - heading[a:b]
            turn_w[a:b] = keep
            v = np.einsum("tij,tj->ti", _rot_y(turn[a:b] * keep), foot_vec[a:b])
            on_toe = toe_down[a:b] & ~heel_down[a:b]
            target[a:b, 0] = np.where(on_toe, hold_t[0] - v[:, 0], hold_a[0])
            target[a:b, 2] = np.where(on_toe, hold_t[1] - v[:, 2], hold_a[1])
            weight[a:b] = 1.0
            runs.append((a, b))
        # fades: each correction handed back to the model's motion over ``fade`` frames, more
        # where the hold is far from where the model has the foot (at most HANDOVER_STEP a frame)
        for k, (a, b) in enumerate(runs):
            nxt = runs[k + 1][0] if k + 1 < len(runs) else T + 2 * fade
            prv = runs[k - 1][1] if k > 0 else -2 * fade
            for edge, out in ((b - 1, 1), (a, -1)):
                off = float(np.linalg.norm(target[edge, [0, 2]] - pos[edge, ankle, [0, 2]]))
                n = int(np.clip(np.ceil(off / HANDOVER_STEP), fade, 3 * fade))
                side_frames = edge + out * (1 + np.arange(n))
                side_frames = side_frames[(side_frames >= 0) & (side_frames < T)]
                if not len(side_frames):
                    continue
                w = 1.0 - (np.arange(len(side_frames)) + 1.0) / (n + 1.0)
                gap_small = (nxt - b < 2 * fade) if out > 0 else (a - prv < 2 * fade)
                better = w > weight[side_frames]
                f, w = side_frames[better], w[better]
                weight[f] = w
                if not gap_small:
                    target[f, 0], target[f, 2] = target[edge, 0], target[edge, 2]
                if turn_w[edge] > 0:   # the run's last correction, faded out (not a held heading)
                    turn[f] = turn[edge]
                    turn_w[f] = w
        for (a0, b0), (a1, b1) in zip(runs, runs[1:]):
            if a1 - b0 < 2 * fade:  # fades overlap: a short lift between two plants becomes a step
                s_, e_ = _air_time(a0, b0, a1, b1)
                _step(target, lift, s_, e_, target[s_ - 1, [0, 2]].copy(), target[e_, [0, 2]].copy())
        target[:, 1] += lift
        if locked is not None:  # frames where the user fixed this leg stay exactly as given,
            fixed = locked[:, [hip, knee, ankle]].any(axis=1)   # the fix fading out towards them
            if fixed.any():
                near = _distance_to(fixed)
                g = 0.5 - 0.5 * np.cos(np.pi * np.clip(near / (LOCK_FADE + 1.0), 0.0, 1.0))
                weight *= g
                turn_w *= g
        frames = np.flatnonzero((weight > 0) | (turn_w > 0))
        if len(frames) == 0:
            continue
        w = weight[frames, None]
        goal = pos[frames, ankle] * (1 - w) + target[frames] * w
        foot_rot = _rot_y(turn[frames] * turn_w[frames]) @ glob[frames, ankle]
        pole = pos[frames, knee] - 0.5 * (pos[frames, hip] + pos[frames, ankle])
        hl, kl, al, _ = solve_leg(glob[frames, 0], trans[frames], side, goal, foot_rot, pole)
        local[frames, hip], local[frames, knee], local[frames, ankle] = hl, kl, al
        changed = True
    if not changed:
        return motion
    poses = matrix_to_axis_angle(local)
    return Motion(poses=poses, trans=trans, contacts=motion.contacts, betas=motion.betas, fps=motion.fps,
                  meta=dict(motion.meta))
