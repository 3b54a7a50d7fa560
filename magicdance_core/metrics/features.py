"""Kinetic (72-d) and geometric (32-d) motion features used by FID and Div.

These are the features of the AIST++ / FACT and Bailando evaluations (after
fairmotion; geometric ones are the boolean pose features of Mueller et al.
2005), re-implemented here vectorised over frames. Joints are SMPL's 24 in
SMPL order, Y up, metres, at ``fps``.

Differences from the reference code, on purpose:
* the reference's acceleration term has an operator-precedence bug:
  ``v1 = p[k] - p[k-1] / frame_time`` (only p[k-1] is divided), so "energy
  expenditure" mixes a position with a velocity. We compute the intended
  ``v1 = (p[k] - p[k-1]) / dt``, i.e. the second difference
  ``(p[k+1] - 2 p[k] + p[k-1]) / dt^2``. Numbers of FID_k therefore differ
  from papers that used the buggy code; we state this wherever we report them.
* dt is the motion's real frame time 1/fps (the reference hard-codes 1/60 s
  for kinetic and 1/120 s for geometric velocities, whatever the data's rate).
"""

from __future__ import annotations

import numpy as np

from ._checks import as_joints

WINDOW = 2  # +-2 frames of averaging around each frame, as the reference


def _window_mean(x: np.ndarray, first: int, last: int, n_out: int, window: int = WINDOW) -> np.ndarray:
    """For i = 1..n_out, mean of x[k] over k in [max(first, i-w), min(last, i+w)].

    x is indexed by k directly (x[k] defined for first <= k <= last); uses
    cumulative sums so it is O(T).
    """
    c = np.concatenate([np.zeros((1,) + x.shape[1:]), np.cumsum(x, axis=0)])  # c[k] = sum x[:k]
    i = np.arange(1, n_out + 1)
    lo = np.maximum(first, i - window)
    hi = np.minimum(last, i + window)
    cnt = np.maximum(hi - lo + 1, 1)
    s = c[hi + 1] - c[lo]
    s[hi < lo] = 0.0
    return s / cnt.reshape((-1,) + (1,) * (x.ndim - 1))


def kinetic_features(joints: np.ndarray, fps: float = 30.0) -> np.ndarray:
    """72-d kinetic feature vector: for each of 24 joints (horizontal KE, vertical KE, energy expenditure).

    With dt = 1/fps, d[k] = p[k] - p[k-1] (k = 1..T-1) and windows of +-2 frames:
      v(i)  = mean_{k in [i-2, i+2] ∩ [1, T-1]} d[k] / dt            (m/s)
      a(i)  = mean_{k in [i-2, i+2] ∩ [1, T-2]} (d[k+1] - d[k]) / dt^2  (m/s^2)
      KE_h  = mean_{i=1..T-1} |v_xz(i)|^2,  KE_v = mean_i v_y(i)^2,
      EE    = mean_{i=1..T-1} |a(i)|.
    Units m^2/s^2 and m/s^2, "per unit mass". Needs T >= 4.
    """
    j = as_joints(joints, min_frames=4)
    T = len(j)
    dt = 1.0 / fps
    d = np.zeros_like(j)
    d[1:] = j[1:] - j[:-1]
    v = _window_mean(d, 1, T - 1, T - 1) / dt            # (T-1, J, 3), row r is i = r+1
    acc = np.zeros_like(j)
    acc[1:T - 1] = (d[2:] - d[1:T - 1]) / dt ** 2         # intended formula (see module doc)
    a = _window_mean(acc, 1, T - 2, T - 1)
    ke_h = (v[..., 0] ** 2 + v[..., 2] ** 2).mean(axis=0)
    ke_v = (v[..., 1] ** 2).mean(axis=0)
    ee = np.linalg.norm(a, axis=2).mean(axis=0)
    return np.stack([ke_h, ke_v, ee], axis=1).reshape(-1).astype(np.float64)[: 3 * 24]


# Reference body sizes of the geometric features (metres): humerus length, shoulder
# width and hip width as the reference evaluation fixes them for every body.
_HL = 0.2493
_SW = 0.4857
_HW = 0.4241

_J = dict(root=0, lhip=1, rhip=2, belly=3, lknee=4, rknee=5, spine=6, lankle=7, rankle=8, chest=9,
          ltoes=10, rtoes=11, neck=12, linshoulder=13, rinshoulder=14, head=15, lshoulder=16,
          rshoulder=17, lelbow=18, relbow=19, lwrist=20, rwrist=21)


def _unit(v):
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-12)


def geometric_features(joints: np.ndarray, fps: float = 30.0) -> np.ndarray:
    """32-d geometric ("manual") feature vector: the fraction of frames each boolean pose relation holds.

    Relations (Mueller et al. 2005, as chosen by FACT/Bailando) on frames t = 1..T-1,
    with velocities (p[t] - p[t-1]) * fps in m/s and thresholds in units of the
    reference humerus length hl = 0.2493 m, shoulder width sw, hip width hw:
      move(a,b,c,thr):     velocity of c relative to a along unit(b - a) > thr
      nmove(a,b,c,d,thr):  velocity of d relative to a along the normal of plane(a,b,c) > thr
      plane(a,b,c,d,thr):  signed distance of d from plane(a,b,c) (normal (c-a)x(b-a)) > thr
      nplane(a,b,c,d,thr): signed distance of d from c along unit(b - a) > thr
      angle(a,b,c,d,rng):  angle between b-a and d-c (degrees) strictly inside rng
      fast(a,thr):         |velocity of a| > thr
    "y_min" is the lowest joint's height in the frame. Needs T >= 2.
    """
    j = as_joints(joints, min_frames=2)
    P = j[1:, :22]
    Q = j[:-1, :22]
    n = len(P)
    g = lambda name: P[:, _J[name]]          # noqa: E731
    gp = lambda name: Q[:, _J[name]]         # noqa: E731
    zero = np.zeros((n, 3))
    yu = np.tile([0.0, 1.0, 0.0], (n, 1))
    ymin = np.zeros((n, 3))
    ymin[:, 1] = P[:, :, 1].min(axis=1)
    special = {"zero": zero, "y_unit": yu, "minus_y_unit": -yu, "y_min": ymin}
    get = lambda name: special[name] if name in special else g(name)  # noqa: E731

    def rel_vel(a, c):
        return ((g(c) - g(a)) - (gp(c) - gp(a))) * fps

    def move(a, b, c, thr):
        return np.einsum("ni,ni->n", rel_vel(a, c), _unit(g(b) - g(a))) > thr

    def nmove(a, b, c, d, thr):
        normal = _unit(np.cross(g(c) - g(a), g(b) - g(a)))
        return np.einsum("ni,ni->n", rel_vel(a, d), normal) > thr

    def plane(a, b, c, d, thr):
        normal = _unit(np.cross(get(c) - get(a), get(b) - get(a)))
        return np.einsum("ni,ni->n", get(d) - get(a), normal) > thr

    def nplane(a, b, c, d, thr):
        return np.einsum("ni,ni->n", get(d) - get(c), _unit(get(b) - get(a))) > thr

    def angle(a, b, c, d, rng):
        u, w = _unit(get(b) - get(a)), _unit(get(d) - get(c))
        ang = np.degrees(np.arccos(np.clip(np.einsum("ni,ni->n", u, w), -1.0, 1.0)))
        return (ang > rng[0]) & (ang < rng[1])

    def fast(a, thr):
        return np.linalg.norm(g(a) - gp(a), axis=1) * fps > thr

    hl, sw, hw = _HL, _SW, _HW
    feats = [
        nmove("neck", "rhip", "lhip", "rwrist", 1.8 * hl),
        nmove("neck", "lhip", "rhip", "lwrist", 1.8 * hl),
        nplane("chest", "neck", "neck", "rwrist", 0.2 * hl),
        nplane("chest", "neck", "neck", "lwrist", 0.2 * hl),
        # The reference passes the 3rd joint (chest) as the moving point here, not the
        # wrist its 4th argument names; kept as the reference computes it.
        move("belly", "chest", "chest", 1.8 * hl),
        move("belly", "chest", "chest", 1.8 * hl),
        angle("relbow", "rshoulder", "relbow", "rwrist", (0, 110)),
        angle("lelbow", "lshoulder", "lelbow", "lwrist", (0, 110)),
        nplane("lshoulder", "rshoulder", "lwrist", "rwrist", 2.5 * sw),
        move("lwrist", "rwrist", "rwrist", 1.4 * hl),
        move("rwrist", "root", "lwrist", 1.4 * hl),
        move("lwrist", "root", "rwrist", 1.4 * hl),
        fast("rwrist", 2.5 * hl),
        fast("lwrist", 2.5 * hl),
        plane("root", "lhip", "ltoes", "rankle", 0.38 * hl),
        plane("root", "rhip", "rtoes", "lankle", 0.38 * hl),
        nplane("zero", "y_unit", "y_min", "rankle", 1.2 * hl),
        nplane("zero", "y_unit", "y_min", "lankle", 1.2 * hl),
        nplane("lhip", "rhip", "lankle", "rankle", 2.1 * hw),
        angle("rknee", "rhip", "rknee", "rankle", (0, 110)),
        angle("lknee", "lhip", "lknee", "lankle", (0, 110)),
        fast("rankle", 2.5 * hl),
        fast("lankle", 2.5 * hl),
        angle("neck", "root", "rshoulder", "relbow", (25, 180)),
        angle("neck", "root", "lshoulder", "lelbow", (25, 180)),
        angle("neck", "root", "rhip", "rknee", (50, 180)),
        angle("neck", "root", "lhip", "lknee", (50, 180)),
        plane("rankle", "neck", "lankle", "root", 0.5 * hl),
        angle("neck", "root", "zero", "y_unit", (70, 110)),
        nplane("zero", "minus_y_unit", "y_min", "rwrist", -1.2 * hl),
        nplane("zero", "minus_y_unit", "y_min", "lwrist", -1.2 * hl),
        fast("root", 2.3 * hl),
    ]
    return np.stack(feats, axis=1).astype(np.float64).mean(axis=0)
