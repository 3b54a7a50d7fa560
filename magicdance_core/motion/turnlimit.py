"""Limit how fast the pelvis may turn: removes the diffusion model's snap turns.

A small motion model sometimes flips the pelvis's facing by 100-140 degrees within one or
two frames (it hesitates between two facings and the DDIM trajectory lands on both). Whole
limbs then jump up to a metre in a frame. Nothing in the training dances turns faster than
about 22 degrees per frame (99.9 % of frames under 13; benchmarks/motion/RESULTS.md), so
the pelvis rotation is rate-limited at ``max_deg`` per frame.

How: the pelvis rotation is split into facing (yaw about +Y, unwrapped to a continuous
angle) and the rest (tilt). The facing is rate-limited by two slew-rate limiters, one run
forwards (it lags a snap) and one backwards (it leads it), averaged: the turn is centred where
the model put it, stays under the limit (the mean of two limited tracks is limited), and equals
the input wherever the input turns slower than the limit. Snaps are almost all facing; a
final slew limiter (forwards, then backwards) on the whole rotation catches what tilt is left.
Pinned frames (a constrained pelvis rotation) keep exactly their values; the trackers stay
within reach of them (|facing(t) - facing(pin)| <= limit * |t - pin|), so the turn into a
pinned frame is limited too.

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


def _reach(z: np.ndarray, step: float, pinned: np.ndarray) -> tuple:
    """(lo, hi) per frame: the values from which every pinned frame can still be reached
    (or was reachable) turning at most ``step`` a frame; +-inf without pins."""
    T = len(z)
    lo, hi = np.full(T, -np.inf), np.full(T, np.inf)
    t = np.arange(T)
    for p in np.flatnonzero(pinned):
        lo = np.maximum(lo, z[p] - step * np.abs(t - p))
        hi = np.minimum(hi, z[p] + step * np.abs(t - p))
    return lo, hi


def _slew(x: np.ndarray, step: float, pinned: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """1-D: follow x, moving at most ``step`` per frame and staying within [lo, hi] (so the
    next pinned frame is reached within the limit); pinned frames take x exactly."""
    out = x.copy()
    for t in range(1, len(x)):
        if not pinned[t]:
            out[t] = min(max(out[t - 1] + np.clip(x[t] - out[t - 1], -step, step), lo[t]), hi[t])
    return out


def limit_facing(yaw: np.ndarray, max_rad: float, pinned: np.ndarray) -> np.ndarray:
    """(T,) facing angles (radians) -> same turning at most ``max_rad`` a frame, centred.

    Between two pinned frames the turn goes the way the model went if that fits the limit,
    else the short way round; a pair that cannot be joined within the limit (the animator's
    own keys turn faster) is joined at an even rate.
    """
    z = np.unwrap(np.asarray(yaw, np.float64))
    pinned = np.asarray(pinned, bool)
    pins = np.flatnonzero(pinned)
    for p, q in zip(pins[:-1], pins[1:]):
        d = z[q] - z[p]
        if abs(d) > max_rad * (q - p) + 1e-9:
            short = (d + np.pi) % (2 * np.pi) - np.pi
            if abs(short) < abs(d):
                z[q:] += short - d          # same facings from q on, reached the short way
    lo, hi = _reach(z, max_rad, pinned)
    fwd = _slew(z, max_rad, pinned, lo, hi)
    bwd = _slew(z[::-1], max_rad, pinned[::-1], lo[::-1], hi[::-1])[::-1]
    out = 0.5 * (fwd + bwd)
    for p, q in zip(pins[:-1], pins[1:]):   # out of reach: an even turn between the two keys
        if q - p > 1 and abs(z[q] - z[p]) > max_rad * (q - p) + 1e-9:
            out[p:q + 1] = np.linspace(z[p], z[q], q - p + 1)
    out[pinned] = z[pinned]
    return out


def _limit_tilt(out: np.ndarray, max_rad: float, pinned: np.ndarray, order) -> None:
    prev = None
    for t in order:  # slerp each frame towards its neighbour in ``order`` within the limit
        if prev is not None and not pinned[t]:
            ang = _angle(out[prev], out[t])
            if ang > max_rad + 1e-9:
                out[t] = _slerp(out[prev], out[t], max_rad / ang)
        prev = t


def limit_turn_rate(quats: np.ndarray, max_deg: float, pinned: Optional[np.ndarray] = None) -> np.ndarray:
    """(T,4) unit quaternions (w,x,y,z) -> same, turning at most ``max_deg`` per frame."""
    from ..body.rotations import matrix_to_quat, quat_to_matrix
    from .constraints import yaw_of

    q = quat_make_continuous(np.asarray(quats, np.float64))
    T = len(q)
    if T < 2 or max_deg <= 0:
        return q
    pinned = np.zeros(T, bool) if pinned is None else np.asarray(pinned, bool)
    max_rad = np.radians(float(max_deg))
    R = quat_to_matrix(q)
    yaw = yaw_of(R)
    new_yaw = limit_facing(yaw, max_rad, pinned)
    d = new_yaw - np.unwrap(yaw)
    c, s_ = np.cos(d), np.sin(d)
    Ry = np.zeros((T, 3, 3))
    Ry[:, 0, 0], Ry[:, 0, 2], Ry[:, 1, 1], Ry[:, 2, 0], Ry[:, 2, 2] = c, s_, 1.0, -s_, c
    out = quat_make_continuous(matrix_to_quat(Ry @ R))
    out[pinned] = q[pinned]
    # what tilt is left: a slew forwards, then backwards (so steps into a pinned frame are limited too)
    _limit_tilt(out, max_rad, pinned, range(T))
    _limit_tilt(out, max_rad, pinned, range(T - 1, -1, -1))
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
