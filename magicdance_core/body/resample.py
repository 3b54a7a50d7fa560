"""Change a motion's frame rate: stride for whole ratios, slerp otherwise."""

from __future__ import annotations

import numpy as np

from .rotations import axis_angle_to_quat, quat_make_continuous, quat_to_axis_angle


def resample_indices(num_frames: int, src_fps: float, dst_fps: float):
    """Sample times of the output in input-frame units (float), covering the same span."""
    if num_frames < 1:
        return np.zeros(0)
    n_out = int(np.floor((num_frames - 1) * dst_fps / src_fps + 1e-9)) + 1
    return np.arange(n_out) * (src_fps / dst_fps)


def slerp(q0, q1, t):
    """Spherical interpolation of unit quaternions (...,4) by t (...,1), shortest path."""
    dot = np.sum(q0 * q1, -1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin_t = np.sin(theta)
    near = sin_t < 1e-6  # nearly equal: plain lerp is exact enough and avoids 0/0
    safe = np.where(near, 1.0, sin_t)
    w0 = np.where(near, 1 - t, np.sin((1 - t) * theta) / safe)
    w1 = np.where(near, t, np.sin(t * theta) / safe)
    q = w0 * q0 + w1 * q1
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def resample_motion_arrays(poses, trans, src_fps: float, dst_fps: float, contacts=None):
    """Resample axis-angle poses (T,24,3), trans (T,3) and optional contacts (T,4).

    A whole ratio (60 -> 30) takes every k-th frame, as EDGE's data pipeline does;
    any other ratio slerps rotations and interpolates trans/contacts linearly.
    """
    poses = np.asarray(poses, dtype=np.float64)
    trans = np.asarray(trans, dtype=np.float64)
    T = len(poses)
    if abs(src_fps - dst_fps) < 1e-9:
        return poses, trans, contacts
    ratio = src_fps / dst_fps
    if abs(ratio - round(ratio)) < 1e-9 and round(ratio) >= 1:
        k = int(round(ratio))
        return poses[::k], trans[::k], None if contacts is None else np.asarray(contacts)[::k]
    return sample_at(poses, trans, resample_indices(T, src_fps, dst_fps), contacts)


def sample_at(poses, trans, times, contacts=None):
    """The motion at fractional frame ``times`` (N,): slerped rotations, linear trans/contacts.

    A whole-number time returns that frame exactly (bit for bit), so frames a caller
    pins to themselves keep their values.
    """
    poses = np.asarray(poses, dtype=np.float64)
    trans = np.asarray(trans, dtype=np.float64)
    T = len(poses)
    t = np.clip(np.asarray(times, dtype=np.float64), 0, T - 1)
    i0 = np.minimum(np.floor(t).astype(int), T - 1)
    i1 = np.minimum(i0 + 1, T - 1)
    f = (t - i0)[:, None]
    whole = f[:, 0] == 0
    q = quat_make_continuous(axis_angle_to_quat(poses), axis=0)
    out_poses = quat_to_axis_angle(slerp(q[i0], q[i1], f[:, :, None]))
    out_poses[whole] = poses[i0[whole]]
    out_trans = trans[i0] * (1 - f) + trans[i1] * f
    out_trans[whole] = trans[i0[whole]]
    out_contacts = None
    if contacts is not None:
        c = np.asarray(contacts, dtype=np.float64)
        out_contacts = c[i0] * (1 - f) + c[i1] * f
        out_contacts[whole] = c[i0[whole]]
    return out_poses, out_trans, out_contacts
