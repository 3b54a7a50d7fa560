"""Batched rotation conversions that work on numpy arrays and torch tensors alike.

Representations (last axes): axis-angle (...,3), unit quaternion w-x-y-z (...,4),
matrix (...,3,3), and 6D (...,6). The 6D layout follows pytorch3d (the first two
*rows* of the matrix), which is what EDGE's checkpoints were trained with.

We deliberately do not depend on pytorch3d (no CPU wheel for torch 2.13 on PyPI)
nor on scipy's Rotation (numpy only, no autograd): these few formulas are short.
"""

from __future__ import annotations

import sys

import numpy as np

# torch is imported by whoever makes tensors; until then nothing can be one, so the
# numpy path (and the CLI's start-up) never pays torch's import time.
torch = None


def _is_torch(x) -> bool:
    global torch
    t = sys.modules.get("torch")
    if t is None or not isinstance(x, t.Tensor):
        return False
    torch = t
    return True


class _NP:
    @staticmethod
    def sqrt(x): return np.sqrt(x)
    @staticmethod
    def sin(x): return np.sin(x)
    @staticmethod
    def cos(x): return np.cos(x)
    @staticmethod
    def atan2(y, x): return np.arctan2(y, x)
    @staticmethod
    def stack(xs, axis): return np.stack(xs, axis=axis)
    @staticmethod
    def where(c, a, b): return np.where(c, a, b)
    @staticmethod
    def cross(a, b): return np.cross(a, b)
    @staticmethod
    def sum(x, axis, keepdims=False): return np.sum(x, axis=axis, keepdims=keepdims)
    @staticmethod
    def clip(x, lo, hi): return np.clip(x, lo, hi)
    @staticmethod
    def maximum(x, v): return np.maximum(x, v)
    @staticmethod
    def abs(x): return np.abs(x)
    @staticmethod
    def argmax(x, axis): return np.argmax(x, axis=axis)
    @staticmethod
    def take_last(x, idx):
        return np.take_along_axis(x, idx[..., None, None], axis=-2)[..., 0, :]
    @staticmethod
    def asarray(x): return np.asarray(x, dtype=np.float64) if not np.issubdtype(np.asarray(x).dtype, np.floating) else np.asarray(x)


class _TH:
    @staticmethod
    def sqrt(x): return torch.sqrt(x)
    @staticmethod
    def sin(x): return torch.sin(x)
    @staticmethod
    def cos(x): return torch.cos(x)
    @staticmethod
    def atan2(y, x): return torch.atan2(y, x)
    @staticmethod
    def stack(xs, axis): return torch.stack(xs, dim=axis)
    @staticmethod
    def where(c, a, b): return torch.where(c, a, b)
    @staticmethod
    def cross(a, b): return torch.linalg.cross(a, b)
    @staticmethod
    def sum(x, axis, keepdims=False): return torch.sum(x, dim=axis, keepdim=keepdims)
    @staticmethod
    def clip(x, lo, hi): return torch.clamp(x, lo, hi)
    @staticmethod
    def maximum(x, v): return torch.clamp(x, min=v)
    @staticmethod
    def abs(x): return torch.abs(x)
    @staticmethod
    def argmax(x, axis): return torch.argmax(x, dim=axis)
    @staticmethod
    def take_last(x, idx):
        return torch.gather(x, -2, idx[..., None, None].expand(*idx.shape, 1, x.shape[-1]))[..., 0, :]
    @staticmethod
    def asarray(x): return x if x.is_floating_point() else x.double()


def _xp(x):
    return _TH if _is_torch(x) else _NP


def _normalize(v, xp, eps=1e-12):
    return v / xp.maximum(xp.sqrt(xp.sum(v * v, -1, keepdims=True)), eps)


# ---------------------------------------------------------------- quaternion
def axis_angle_to_quat(aa):
    xp = _xp(aa)
    aa = xp.asarray(aa)
    angle_sq = xp.sum(aa * aa, -1, keepdims=True)
    small = angle_sq < 1e-12
    # Never take sqrt(0): its gradient is infinite and 0*inf poisons autograd with NaN
    # even through the branch np.where/torch.where does not pick.
    angle = xp.sqrt(xp.where(small, angle_sq * 0 + 1.0, angle_sq))
    # sin(x/2)/x and cos(x/2) with their Taylor expansions near 0.
    k = xp.where(small, 0.5 - angle_sq / 48.0, xp.sin(angle * 0.5) / angle)
    w = xp.where(small, 1.0 - angle_sq / 8.0, xp.cos(angle * 0.5))
    return _cat(w, aa * k, xp)


def _cat(w, v, xp):
    if xp is _TH:
        return torch.cat([w, v], dim=-1)
    return np.concatenate([w, v], axis=-1)


def quat_to_axis_angle(q):
    xp = _xp(q)
    q = xp.asarray(q)
    # Take the short way round (w >= 0) so the angle lies in [0, pi].
    q = xp.where(q[..., :1] < 0, -q, q)
    v = q[..., 1:]
    s_sq = xp.sum(v * v, -1, keepdims=True)
    small = s_sq < 1e-12
    s = xp.sqrt(xp.where(small, s_sq * 0 + 1.0, s_sq))  # no sqrt(0): see axis_angle_to_quat
    angle = 2.0 * xp.atan2(s, q[..., :1])
    # Near identity angle/s -> 2/w (w ~ 1 there).
    k = xp.where(small, 2.0 / xp.maximum(q[..., :1], 1e-12), angle / s)
    return v * k


def quat_to_matrix(q):
    xp = _xp(q)
    q = _normalize(xp.asarray(q), xp)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    rows = [
        xp.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        xp.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        xp.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
    ]
    return xp.stack(rows, -2)


def matrix_to_quat(m):
    """Rotation matrix to unit quaternion (w >= 0), numerically stable branch choice."""
    xp = _xp(m)
    m = xp.asarray(m)
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    # Four candidate quaternions; pick the one with the largest denominator.
    t = xp.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], -1)
    r = xp.sqrt(xp.maximum(t, 1e-12))
    c0 = xp.stack([r[..., 0] ** 2, m21 - m12, m02 - m20, m10 - m01], -1) / (2 * r[..., 0:1])
    c1 = xp.stack([m21 - m12, r[..., 1] ** 2, m01 + m10, m02 + m20], -1) / (2 * r[..., 1:2])
    c2 = xp.stack([m02 - m20, m01 + m10, r[..., 2] ** 2, m12 + m21], -1) / (2 * r[..., 2:3])
    c3 = xp.stack([m10 - m01, m02 + m20, m12 + m21, r[..., 3] ** 2], -1) / (2 * r[..., 3:4])
    cands = xp.stack([c0, c1, c2, c3], -2)
    q = xp.take_last(cands, xp.argmax(t, -1))
    q = _normalize(q, xp)
    return xp.where(q[..., :1] < 0, -q, q)


def quat_multiply(a, b):
    xp = _xp(a)
    aw, ax, ay, az = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bw, bx, by, bz = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    return xp.stack([
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    ], -1)


def quat_conjugate(q):
    xp = _xp(q)
    return _cat(q[..., :1], -q[..., 1:], xp)


def quat_make_continuous(q, axis: int = 0):
    """Flip signs along ``axis`` (time) so consecutive quaternions share a hemisphere.

    Blender interpolates quaternion F-curves component-wise, so a sign flip
    between keys would spin the bone the long way round.
    """
    q = np.array(q, dtype=np.float64, copy=True)
    q = np.moveaxis(q, axis, 0)
    for t in range(1, q.shape[0]):
        flip = np.sum(q[t] * q[t - 1], axis=-1) < 0
        q[t][flip] *= -1
    return np.moveaxis(q, 0, axis)


# ---------------------------------------------------------------- matrix / axis-angle
def axis_angle_to_matrix(aa):
    return quat_to_matrix(axis_angle_to_quat(aa))


def matrix_to_axis_angle(m):
    return quat_to_axis_angle(matrix_to_quat(m))


# ---------------------------------------------------------------- 6D (pytorch3d layout)
def matrix_to_6d(m):
    rows = m[..., :2, :]
    return rows.reshape(*rows.shape[:-2], 6)


def rot6d_to_matrix(d6):
    """Gram-Schmidt on the two stored rows (Zhou et al. 2019, pytorch3d layout)."""
    xp = _xp(d6)
    a1, a2 = d6[..., :3], d6[..., 3:]
    b1 = _normalize(a1, xp)
    b2 = _normalize(a2 - xp.sum(b1 * a2, -1, keepdims=True) * b1, xp)
    b3 = xp.cross(b1, b2)
    return xp.stack([b1, b2, b3], -2)


def axis_angle_to_6d(aa):
    return matrix_to_6d(axis_angle_to_matrix(aa))


def rot6d_to_axis_angle(d6):
    return matrix_to_axis_angle(rot6d_to_matrix(d6))


def quat_to_6d(q):
    return matrix_to_6d(quat_to_matrix(q))


def rot6d_to_quat(d6):
    return matrix_to_quat(rot6d_to_matrix(d6))
