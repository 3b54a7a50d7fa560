"""Limit how fast the pelvis may turn: removes the diffusion model's snap turns.

A small motion model sometimes flips the pelvis's facing by 100-140 degrees within one or
two frames (it hesitates between two facings and the DDIM trajectory lands on both). Whole
limbs then jump up to a metre in a frame. Nothing in the training dances turns faster than
about 22 degrees per frame (99.9 % of frames under 13; benchmarks/motion/RESULTS.md), so
the pelvis rotation is rate-limited at ``max_deg`` per frame.

How: a slew-rate limiter follows the sampled rotation, stepping towards it by at most
``max_deg`` each frame. Run forwards it lags a snap, run backwards it leads it; the
per-frame midpoint of the two turns through the snap centred on where the model put it,
at no more than the limit, and equals the input wherever the input turns slower than the
limit (both trackers then sit on it). Pinned frames (a constrained pelvis rotation) reset
both trackers, so they keep exactly their values.

Written here (not a library call): scipy's Rotation has slerp but no rate limiter.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..body.rotations import quat_conjugate, quat_make_continuous, quat_multiply


def _slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    d = float(np.dot(a, b))
    if d < 0:
        b, d = -b, -d
    if d > 0.9995:
        q = a + t * (b - a)
        return q / np.linalg.norm(q)
    th = np.arccos(min(d, 1.0))
    return (np.sin((1 - t) * th) * a + np.sin(t * th) * b) / np.sin(th)


def _angle(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float(np.arccos(min(abs(float(np.dot(a, b))), 1.0)))


def _track(q: np.ndarray, max_rad: float, pinned: np.ndarray) -> np.ndarray:
    out = q.copy()
    for t in range(1, len(q)):
        if pinned[t]:
            continue  # keep q[t]
        ang = _angle(out[t - 1], q[t])
        out[t] = q[t] if ang <= max_rad else _slerp(out[t - 1], q[t], max_rad / ang)
    return out


def limit_turn_rate(quats: np.ndarray, max_deg: float, pinned: Optional[np.ndarray] = None) -> np.ndarray:
    """(T,4) unit quaternions (w,x,y,z) -> same, turning at most ``max_deg`` per frame."""
    q = quat_make_continuous(np.asarray(quats, np.float64))
    T = len(q)
    if T < 2 or max_deg <= 0:
        return q
    pinned = np.zeros(T, bool) if pinned is None else np.asarray(pinned, bool)
    max_rad = np.radians(float(max_deg))
    steps = np.array([_angle(q[t], q[t + 1]) for t in range(T - 1)])
    if steps.max() <= max_rad:
        return q
    fwd = _track(q, max_rad, pinned)
    bwd = _track(q[::-1], max_rad, pinned[::-1])[::-1]
    out = np.stack([_slerp(f, b, 0.5) for f, b in zip(fwd, bwd)])
    out[pinned] = q[pinned]
    return out


def limit_root_turn(poses: np.ndarray, max_deg: float, pinned: Optional[np.ndarray] = None) -> np.ndarray:
    """(T,24,3) axis-angle poses with the pelvis (joint 0) turning at most ``max_deg`` per frame."""
    from ..body.rotations import axis_angle_to_quat, quat_to_axis_angle

    out = np.array(poses, dtype=np.float64, copy=True)
    if max_deg <= 0 or max_turn_deg(out) <= max_deg:
        return out  # untouched, bit for bit
    out[:, 0] = quat_to_axis_angle(limit_turn_rate(axis_angle_to_quat(out[:, 0]), max_deg, pinned))
    return out


def max_turn_deg(poses: np.ndarray) -> float:
    """The pelvis's largest rotation between two frames, in degrees."""
    from ..body.rotations import axis_angle_to_quat

    q = axis_angle_to_quat(np.asarray(poses, np.float64)[:, 0])
    if len(q) < 2:
        return 0.0
    rel = quat_multiply(q[1:], quat_conjugate(q[:-1]))
    return float(np.degrees(2 * np.arccos(np.clip(np.abs(rel[:, 0]), 0, 1))).max())
