"""Fit the built-in body to a photo: pose, proportions, girth and the camera (no bpy, ~1-3 s).

What the passes and the CPU animator share: the guidance passes and the video are rendered from
this one body and camera, so what the DensePose pass shows is where the video shows the person.

Model: the built-in body (:mod:`.builtin_mesh`) on the project's skeleton with per-segment bone
length scales (so a child's big head or long legs line up) and per-segment girth scales (from the
silhouette's widths); a pinhole camera with the photo's size, focal length ``max(W, H)`` (about 53
degrees, as :func:`magicdance_core.camera.align_to_photo`), level except for a fitted pitch.

Fit (scipy ``least_squares``, robust soft-L1; finite differences are cheap at this size):
  1. joints and proportions from mediapipe's 33 landmarks reprojected (each landmark is a point
     on the body: a joint, or an offset from one, e.g. the nose on the head), plus mediapipe's
     ``pose_world_landmarks`` (metric 3D, camera-aligned) as bone directions where the photo
     analysis has them: they say which way a limb points in depth and which way a side view
     faces, which 2D points cannot;
  2. girth per segment from the mask's width across each projected bone vs the body's;
  3. pose again with the built body and a silhouette term: the mask's outside distance
     transform sampled at projected vertices (the body must lie inside the person).
Priors keep the pose human (knees bend one way, small collar and spine moves, upright pelvis)
and the proportions near the skeleton's; the overall size stays near an adult's (a photo cannot
tell a near child from a far adult: it is only the camera distance).

The world: SMPL's frame (Y up, metres, floor y = 0 under the fitted feet); for a half-body photo
the hidden legs are a standing pose (used for the floor only; the parts are not rendered).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import BadInput
from .rotations import axis_angle_to_matrix, matrix_to_axis_angle
from .skeleton import JOINT_INDEX as J, NUM_JOINTS, PARENTS, REST_OFFSETS

VISIBLE = 0.5
VERSION = 1

# mediapipe Pose landmark -> (SMPL joint, offset from it in the joint's rest frame (metres), weight).
# Offsets: mediapipe's hips sit ~5 cm further out than SMPL's hip joints; its heel and toe points
# are on the shoe; the face points are the project's head points (passes/keypoints.HEAD_OFFSETS).
_HEAD = {"nose": (0.0, 0.050, 0.112), "left_eye": (0.032, 0.090, 0.100), "right_eye": (-0.032, 0.090, 0.100),
         "left_ear": (0.086, 0.060, 0.010), "right_ear": (-0.086, 0.060, 0.010)}
LANDMARK_POINTS = {
    0: ("head", _HEAD["nose"], 1.0), 2: ("head", _HEAD["left_eye"], 0.7), 5: ("head", _HEAD["right_eye"], 0.7),
    7: ("head", _HEAD["left_ear"], 0.7), 8: ("head", _HEAD["right_ear"], 0.7),
    11: ("left_shoulder", (0, 0, 0), 1.0), 12: ("right_shoulder", (0, 0, 0), 1.0),
    13: ("left_elbow", (0, 0, 0), 1.0), 14: ("right_elbow", (0, 0, 0), 1.0),
    15: ("left_wrist", (0, 0, 0), 1.0), 16: ("right_wrist", (0, 0, 0), 1.0),
    19: ("left_hand", (0.03, 0, 0), 0.4), 20: ("right_hand", (-0.03, 0, 0), 0.4),
    23: ("left_hip", (0.055, 0, 0), 1.0), 24: ("right_hip", (-0.055, 0, 0), 1.0),
    25: ("left_knee", (0, 0, 0), 1.0), 26: ("right_knee", (0, 0, 0), 1.0),
    27: ("left_ankle", (0, 0, 0), 1.0), 28: ("right_ankle", (0, 0, 0), 1.0),
    29: ("left_ankle", (0, -0.05, -0.05), 0.5), 30: ("right_ankle", (0, -0.05, -0.05), 0.5),
    31: ("left_foot", (0, -0.01, 0.07), 0.5), 32: ("right_foot", (0, -0.01, 0.07), 0.5),
}
LEG_LANDMARKS = (25, 26, 27, 28, 29, 30, 31, 32)
# Bone directions taken from the world landmarks: (from, to) mediapipe indices.
WORLD_BONES = ((11, 13), (13, 15), (12, 14), (14, 16), (23, 25), (25, 27), (24, 26), (26, 28),
               (24, 23), (12, 11), ("hips", "shoulders"))
LEG_BONES = ((23, 25), (25, 27), (24, 26), (26, 28))

# Fitted rotations: name -> (joints sharing it equally, prior sigma in radians per axis x, y, z).
ROT_GROUPS = {
    "spine": (("spine1", "spine2", "spine3"), (0.35, 0.35, 0.25)),
    "head": (("neck", "head"), (0.6, 0.9, 0.4)),
    "left_collar": (("left_collar",), (0.12, 0.15, 0.15)),
    "right_collar": (("right_collar",), (0.12, 0.15, 0.15)),
    "left_shoulder": (("left_shoulder",), (1.5, 1.5, 1.5)),
    "right_shoulder": (("right_shoulder",), (1.5, 1.5, 1.5)),
    "left_elbow": (("left_elbow",), (0.5, 1.8, 0.7)),
    "right_elbow": (("right_elbow",), (0.5, 1.8, 0.7)),
    "left_wrist": (("left_wrist",), (0.8, 0.8, 0.8)),
    "right_wrist": (("right_wrist",), (0.8, 0.8, 0.8)),
    "left_hip": (("left_hip",), (1.2, 0.5, 0.6)),
    "right_hip": (("right_hip",), (1.2, 0.5, 0.6)),
    "left_knee": (("left_knee",), (1.5, 0.2, 0.2)),
    "right_knee": (("right_knee",), (1.5, 0.2, 0.2)),
    "left_ankle": (("left_ankle",), (0.5, 0.3, 0.3)),
    "right_ankle": (("right_ankle",), (0.5, 0.3, 0.3)),
}
LEG_GROUPS = ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")
# Bone length scales: name -> joints whose rest offsets it scales (both sides share one scale).
SCALE_GROUPS = {
    "torso": ("spine1", "spine2", "spine3", "neck"),
    "head": ("head",),
    "shoulders": ("left_collar", "right_collar", "left_shoulder", "right_shoulder"),
    "upper_arm": ("left_elbow", "right_elbow"),
    "forearm": ("left_wrist", "right_wrist"),
    "hand": ("left_hand", "right_hand"),
    "hips": ("left_hip", "right_hip"),
    "thigh": ("left_knee", "right_knee"),
    "shin": ("left_ankle", "right_ankle"),
    "foot": ("left_foot", "right_foot"),
}
SCALE_SIGMA = 0.15        # log-scale prior per segment
SIZE_SIGMA = 0.08         # log-scale prior of the whole body (depth ambiguity)
GIRTH_RANGE = (0.7, 1.8)
# (segment, the joints of its bone in the photo, the girth keys it sets); the head's size comes
# from its bone length scale instead (the mask's head includes the hair)
GIRTH_BONES = {
    "upper_arm": (("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow")),
    "forearm": (("left_elbow", "left_wrist"), ("right_elbow", "right_wrist")),
    "thigh": (("left_hip", "left_knee"), ("right_hip", "right_knee")),
    "shin": (("left_knee", "left_ankle"), ("right_knee", "right_ankle")),
    "torso": (("pelvis", "neck"),),
}


@dataclass
class BodyFit:
    """The body and camera fitted to one photo (saved as the job's ``photo/body_fit.json``)."""
    offsets: np.ndarray            # (24,3) rest offsets of the fitted skeleton (metres)
    girth: dict                    # segment -> radius scale (builtin_mesh.SEGMENTS names)
    pose: np.ndarray               # (24,3) axis-angle local rotations of the photo's pose
    trans: np.ndarray              # (3,) pelvis world position in the photo
    camera: "object"               # magicdance_core.camera.Camera at the photo analysis size
    half_body: bool = False        # the photo shows no legs: they are not rendered
    hidden_parts: tuple = ()       # DensePose part ids never rendered (the legs of a half body)
    report: dict = field(default_factory=dict)   # fit errors, in words and numbers

    @property
    def scale(self) -> float:
        """Leg length relative to the project's skeleton (the dance's travel and height scale)."""
        def leg(o):
            return sum(np.linalg.norm(o[J[n]]) for n in ("left_knee", "left_ankle"))
        return float(leg(self.offsets) / leg(REST_OFFSETS))

    def body(self):
        """The built-in body with this fit's proportions and girth (cached per object)."""
        if getattr(self, "_body", None) is None:
            from .builtin_mesh import build_builtin_body

            self._body = build_builtin_body(self.offsets, girth=self.girth)
        return self._body

    def joints(self):
        """(24,3) world joints and (24,3,3) global rotations of the photo's pose."""
        from .fk import forward_kinematics_matrices

        return forward_kinematics_matrices(axis_angle_to_matrix(self.pose), self.trans, self.offsets)

    # -- file -------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return dict(version=VERSION, offsets=np.round(self.offsets, 6).tolist(),
                    girth={k: round(float(v), 4) for k, v in self.girth.items()},
                    pose=np.round(self.pose, 6).tolist(), trans=np.round(self.trans, 6).tolist(),
                    camera=self.camera.to_dict(), half_body=bool(self.half_body),
                    hidden_parts=[int(p) for p in self.hidden_parts], report=self.report)

    def save(self, path) -> None:
        from ..fileio import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict(), indent=1))

    @classmethod
    def from_dict(cls, d: dict) -> "BodyFit":
        from ..camera import Camera

        return cls(offsets=np.asarray(d["offsets"], float).reshape(24, 3), girth=dict(d["girth"]),
                   pose=np.asarray(d["pose"], float).reshape(24, 3), trans=np.asarray(d["trans"], float).reshape(3),
                   camera=Camera.from_dict(d["camera"]), half_body=bool(d.get("half_body", False)),
                   hidden_parts=tuple(d.get("hidden_parts", ())), report=dict(d.get("report", {})))

    @classmethod
    def load(cls, path) -> "BodyFit":
        p = Path(path)
        try:
            return cls.from_dict(json.loads(p.read_text()))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise BadInput(f"{p}: not a body fit ({type(e).__name__}: {e})") from None


# ------------------------------------------------------------------------------------------
# The model: parameters -> joints, landmark points, vertices (numpy, one frame)
# ------------------------------------------------------------------------------------------
LEG_PARTS = (5, 6, 7, 8, 9, 10, 11, 12, 13, 14)
_R0 = np.array([[1.0, 0, 0], [0, -1.0, 0], [0, 0, -1.0]])   # world -> camera for a camera looking along -Z


def camera_rotation(pitch: float) -> np.ndarray:
    """World -> camera (OpenCV axes) of a level camera looking along world -Z, pitched down by
    ``pitch`` radians (positive: looking down)."""
    c, s = math.cos(pitch), math.sin(pitch)
    Rx = np.array([[1.0, 0, 0], [0, c, -s], [0, s, c]])
    return Rx @ _R0


class _Model:
    """Parameter vector layout and its batched evaluation (B parameter vectors at once, so a
    finite-difference Jacobian is one vectorised call instead of n Python ones)."""

    def __init__(self, fit_legs: bool):
        self.groups = [g for g in ROT_GROUPS if fit_legs or g not in LEG_GROUPS]
        n = 7 + 3 * len(self.groups)
        self.i_rot = {g: 7 + 3 * k for k, g in enumerate(self.groups)}
        self.scales = list(SCALE_GROUPS)
        self.i_scale = {g: n + k for k, g in enumerate(self.scales)}
        self.i_size = n + len(self.scales)
        self.n = self.i_size + 1
        # (joint, column of x, share) for the rotation groups
        self.rot_map = [(J[name], self.i_rot[g], 1.0 / len(ROT_GROUPS[g][0]))
                        for g in self.groups for name in ROT_GROUPS[g][0]]
        self.scale_map = [(J[name], self.i_scale[g]) for g in self.scales for name in SCALE_GROUPS[g]]

    def unpack(self, X, base_pose):
        """Batched: (poses (B,24,3), trans (B,3), pitch (B,), offsets (B,24,3), head scale (B,))."""
        X = np.atleast_2d(X)
        B = len(X)
        pose = np.repeat(base_pose[None], B, axis=0)
        pose[:, 0] = X[:, 0:3]
        for j, i, share in self.rot_map:
            pose[:, j] = X[:, i:i + 3] * share
        size = np.exp(X[:, self.i_size])
        off = REST_OFFSETS[None] * size[:, None, None]
        off = off.copy()
        for j, i in self.scale_map:
            off[:, j] *= np.exp(X[:, i])[:, None]
        head = size * np.exp(X[:, self.i_scale["head"]])
        return pose, X[:, 3:6], X[:, 6], off, head


def _fk(pose, trans, offsets):
    from .fk import forward_kinematics_matrices

    return forward_kinematics_matrices(axis_angle_to_matrix(pose), trans, offsets)


_LM_IDX = np.array(sorted(LANDMARK_POINTS))
_LM_JOINT = np.array([J[LANDMARK_POINTS[i][0]] for i in _LM_IDX])
_LM_OFF = np.array([LANDMARK_POINTS[i][1] for i in _LM_IDX], float)
_LM_ISHEAD = np.array([LANDMARK_POINTS[i][0] == "head" for i in _LM_IDX])


def _landmark_points(pos, rot, head_scale):
    """World positions (...,33,3) (NaN where unmapped) of the landmark points of posed skeletons
    pos (...,24,3), rot (...,24,3,3); head_scale (...,) scales the face points' offsets."""
    pos, rot = np.asarray(pos), np.asarray(rot)
    hs = np.asarray(head_scale, float)[..., None, None]
    off = np.where(_LM_ISHEAD[:, None], _LM_OFF * hs, _LM_OFF)              # (...,n,3)
    pts = pos[..., _LM_JOINT, :] + np.einsum("...kab,...kb->...ka", rot[..., _LM_JOINT, :, :], off)
    out = np.full(pos.shape[:-2] + (33, 3), np.nan)
    out[..., _LM_IDX, :] = pts
    return out


def _cam_rot_batch(pitch):
    c, s = np.cos(pitch), np.sin(pitch)
    B = len(pitch)
    Rx = np.zeros((B, 3, 3))
    Rx[:, 0, 0] = 1
    Rx[:, 1, 1], Rx[:, 1, 2], Rx[:, 2, 1], Rx[:, 2, 2] = c, -s, s, c
    return Rx @ _R0


def _project_b(P, R, f, cx, cy):
    """P (B,N,3) world, R (B,3,3) -> pixels (B,N,2), camera coords (B,N,3)."""
    c = np.einsum("bnk,bjk->bnj", P, R)
    z = np.maximum(c[..., 2], 1e-3)
    return np.stack([f * c[..., 0] / z + cx, f * c[..., 1] / z + cy], -1), c


def _project(P, R, f, cx, cy):
    uv, c = _project_b(P[None], R[None], f, cx, cy)
    return uv[0], c[0]


def _mp_to_world(w):
    """mediapipe world landmarks (x right, y down, z away) -> the fit's world axes at pitch 0."""
    return w @ _R0  # _R0 is its own inverse and transpose


def _bone_dirs(P, bones):
    """Unit bone directions (...,nb,3) of landmark points P (...,33,3)."""
    out = []
    for a, b in bones:
        pa = 0.5 * (P[..., 23, :] + P[..., 24, :]) if a == "hips" else P[..., a, :]
        pb = 0.5 * (P[..., 11, :] + P[..., 12, :]) if b == "shoulders" else P[..., b, :]
        out.append(pb - pa)
    d = np.stack(out, -2)
    return d / np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-9)


def _facing_yaw(world_mp) -> Optional[float]:
    """Root yaw (about +Y, 0 = facing the camera) from mediapipe's world landmarks."""
    if world_mp is None:
        return None
    w = _mp_to_world(world_mp)
    lr = (w[23] - w[24]) + (w[11] - w[12])
    fwd = np.cross(lr, [0.0, 1.0, 0.0])
    if np.hypot(fwd[0], fwd[2]) < 1e-6:
        return None
    return float(math.atan2(fwd[0], fwd[2]))


def _init_pose():
    pose = np.zeros((NUM_JOINTS, 3))
    pose[J["left_shoulder"], 2] = -1.0     # arms down ~57 degrees from the T-pose (an A-pose)
    pose[J["right_shoulder"], 2] = 1.0
    return pose


def _solve(fun_b, x0, free, max_iter):
    """Robust least squares over x[free] with a batched forward-difference Jacobian."""
    from scipy.optimize import least_squares

    x0 = np.asarray(x0, float)
    idx = np.nonzero(free)[0]
    h = 1e-6

    def full(z):
        X = np.repeat(x0[None], len(z), axis=0)
        X[:, idx] = z
        return X

    def fun(z):
        return fun_b(full(z[None]))[0]

    def jac(z):
        Z = np.repeat(z[None], len(z) + 1, axis=0)
        Z[1:] += np.eye(len(z)) * h
        R = fun_b(full(Z))
        return ((R[1:] - R[0]) / h).T

    # one BLAS thread: these matrices are small, and OpenBLAS's threads spinning against other
    # work on a shared 2-core box made each SVD ~100x slower (0.76 s instead of 10 ms, measured)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        sol = least_squares(fun, x0[idx], jac=jac, method="trf", loss="soft_l1", f_scale=1.5,
                            max_nfev=max_iter, x_scale="jac")
    x = x0.copy()
    x[idx] = sol.x
    return x


# ------------------------------------------------------------------------------------------
def fit_body(photo, *, focal_px: Optional[float] = None, progress=None) -> BodyFit:
    """Fit the body and camera to a :class:`~magicdance_core.photo.analyze.PhotoAnalysis`."""
    from ..camera import Camera
    from .builtin_mesh import build_builtin_body, skin

    prog = progress or (lambda *a, **k: None)
    W, H = photo.size
    lm = np.asarray(photo.landmarks, float)
    vis = np.asarray(photo.visibility, float)
    if lm.shape != (33, 2) or not np.all(np.isfinite(lm)):
        raise BadInput("the photo's landmarks must be 33 finite points")
    if not (vis[11] >= VISIBLE and vis[12] >= VISIBLE):
        raise BadInput("the photo's person shows no shoulders: cannot fit the body")
    half = bool(photo.half_body)
    world_mp = getattr(photo, "world_landmarks", None)
    f = float(focal_px or max(W, H))
    cx, cy = (W - 1) / 2.0, (H - 1) / 2.0
    mask = np.asarray(photo.mask, np.float32)

    # weights: visible and inside the image count fully; guesses (low visibility, off the
    # image) a little, so a half-body photo's arms below the frame still hang the right way
    inside = (lm[:, 0] >= 0) & (lm[:, 0] <= W - 1) & (lm[:, 1] >= 0) & (lm[:, 1] <= H - 1)
    wl = np.zeros(33)
    for i, (_, _, w) in LANDMARK_POINTS.items():
        v = vis[i]
        wl[i] = w * (1.0 if v >= VISIBLE and inside[i] else 0.15 * v)
    if half:
        wl[list(LEG_LANDMARKS)] = 0.0
    ok = wl > 0
    ys = np.nonzero(mask > 0.5)[0]
    person_h = float(ys.max() - ys.min()) if len(ys) else float(np.ptp(lm[vis >= VISIBLE, 1]))
    sig_px = max(0.02 * person_h, 2.0)

    # -- initial placement: depth from the torso (or the shoulders), position from the hips ----
    sh = 0.5 * (lm[11] + lm[12])
    hips_ok = vis[23] >= VISIBLE and vis[24] >= VISIBLE and inside[23] and inside[24]
    if hips_ok:
        hp = 0.5 * (lm[23] + lm[24])
        D = f * 0.52 / max(float(np.linalg.norm(sh - hp)), 4.0)
        anchor_px, anchor_up = hp, 0.0
    else:
        D = f * 0.36 / max(float(np.linalg.norm(lm[11] - lm[12])), 4.0)
        anchor_px, anchor_up = sh, 0.52
    yaw0 = _facing_yaw(world_mp)
    yaw0 = 0.0 if yaw0 is None else yaw0
    model = _Model(fit_legs=not half)
    base = _init_pose()
    x0 = np.zeros(model.n)
    x0[0:3] = (0.0, yaw0, 0.0)
    x0[3:6] = ((anchor_px[0] - cx) * D / f, -(anchor_px[1] - cy) * D / f - anchor_up, -D)
    for g in ("left_shoulder", "right_shoulder"):
        x0[model.i_rot[g]:model.i_rot[g] + 3] = base[J[g]]
    wdirs = _bone_dirs(_mp_to_world(world_mp), WORLD_BONES) if world_mp is not None else None
    wd_w = np.ones(len(WORLD_BONES))
    if wdirs is not None:
        for k, (a, b) in enumerate(WORLD_BONES):
            ia = (23, 24) if a == "hips" else (a,)
            ib = (11, 12) if b == "shoulders" else (b,)
            v = min(vis[list(ia + ib)])
            wd_w[k] = 1.0 if v >= VISIBLE else 0.3 * v
            if half and (a, b) in LEG_BONES:
                wd_w[k] = 0.0
    rot_cols = np.concatenate([np.arange(model.i_rot[g], model.i_rot[g] + 3) for g in model.groups])
    prior_sig = np.concatenate([ROT_GROUPS[g][1] for g in model.groups])
    knee_cols = [model.i_rot[f"{s}_knee"] for s in ("left", "right") if f"{s}_knee" in model.i_rot]
    scale_cols = [model.i_scale[g] for g in model.scales]
    sil = {}

    def residuals(X):
        pose, trans, pitch, off, head = model.unpack(X, base)
        pos, rot = _fk(pose, trans, off)
        R = _cam_rot_batch(pitch)
        P = _landmark_points(pos, rot, head)
        uv, _ = _project_b(P[:, ok], R, f, cx, cy)
        r = [((uv - lm[ok]) / sig_px * wl[ok, None]).reshape(len(X), -1)]
        if wdirs is not None:
            # bone directions in the camera's axes (mediapipe's world is camera-aligned),
            # written in the fit's world axes at pitch 0
            Pc = np.einsum("bnk,bjk->bnj", P, R) @ _R0
            d = _bone_dirs(Pc, WORLD_BONES)
            r.append(((d - wdirs) * (wd_w / 0.35)[:, None]).reshape(len(X), -1))
        # priors: joint rotations, knees bending backwards only, segment scales, the whole size,
        # an upright pelvis, a near-level camera
        r.append(X[:, rot_cols] / prior_sig * 0.5)
        if knee_cols:
            r.append(np.maximum(0.0, -X[:, knee_cols]) / 0.05)
        r.append(X[:, scale_cols] / SCALE_SIGMA)
        r.append(X[:, model.i_size:model.i_size + 1] / SIZE_SIGMA)
        up_y = axis_angle_to_matrix(X[:, 0:3])[:, 1, 1]
        r.append(np.stack([np.arccos(np.clip(up_y, -1, 1)) / 0.25, pitch / 0.2], 1))
        if sil:
            Vp = _skin_batch(sil["v"], sil["w"], pos, rot, sil["rest"])
            uvv, _ = _project_b(Vp, R, f, cx, cy)
            r.append(_sample(sil["dt"], uvv) / sig_px * sil["weight"])
        return np.concatenate(r, axis=1)

    prog("fit", 0.05, "pose from landmarks")
    x = _solve(residuals, x0, np.ones(model.n, bool), 60)
    # -- girth from the silhouette, then the pose again with the silhouette -----------------------
    pose, trans, pitch, off, head = (a[0] for a in model.unpack(x, base))
    girth = _uniform_girth(float(np.exp(x[model.i_size])))
    girth["skull"] = float(head)
    dt = _outside_distance(mask)
    frozen = np.zeros(model.n, bool)            # proportions fixed while the body's vertices are
    frozen[scale_cols + [model.i_size]] = True  # the ones built on them
    for rnd in range(2):
        prog("fit", 0.35 + 0.3 * rnd, "girth and silhouette")
        girth = _measure_girth(photo, pose, trans, pitch, off, girth, f, half)
        body = build_builtin_body(off, girth=girth)
        keep = np.ones(len(body.vertices), bool)
        if half:
            keep &= ~np.isin(body.vertex_parts, LEG_PARTS)
        idx = np.nonzero(keep)[0]
        idx = idx[np.linspace(0, len(idx) - 1, min(400, len(idx))).astype(int)]
        # the silhouette term is worth about as much as all the landmarks together
        sil.update(v=body.vertices[idx], w=body.weights[idx], rest=body.rest_joints, dt=dt,
                   weight=math.sqrt(max(float(ok.sum()), 1.0) / len(idx)) * 1.5)
        x = _solve(residuals, x, ~frozen, 25)
        pose, trans, pitch, off, head = (a[0] for a in model.unpack(x, base))
    girth = _measure_girth(photo, pose, trans, pitch, off, girth, f, half)
    prog("fit", 0.9, "placing the floor")

    # -- world: floor under the (fitted or, for a half body, standing) feet; camera above it ------
    body = build_builtin_body(off, girth=girth)
    V = skin(body, pose, trans, _offsets_of(body))
    floor = float(V[:, 1].min())
    R = camera_rotation(float(pitch))
    C = np.array([0.0, -floor, 0.0])
    trans = trans + C
    cam = Camera(W, H, f, cx, cy, R, -R @ C, dict(kind="body_fit", focal_px=f, pitch_deg=math.degrees(pitch)))
    fit = BodyFit(offsets=off, girth=girth, pose=pose, trans=trans, camera=cam, half_body=half,
                  hidden_parts=LEG_PARTS if half else ())
    fit._body = body
    fit.report = fit_report(fit, photo)
    prog("fit", 1.0, "done")
    return fit


def _offsets_of(body):
    from .skeleton import offsets_from_joints

    return offsets_from_joints(body.rest_joints)


def _skin_batch(verts, weights, pos, rot, rest):
    """Linear blend skinning of a vertex subset (N,3) for B skeletons pos (B,24,3), rot (B,24,3,3)
    (see builtin_mesh.skin)."""
    t = pos - np.einsum("bjac,jc->bja", rot, rest)
    A = np.concatenate([rot, t[..., None]], axis=-1).reshape(len(pos), NUM_JOINTS, 12)
    M = np.einsum("nj,bjk->bnk", weights, A).reshape(len(pos), -1, 3, 4)
    v = verts
    return M[..., 3] + M[..., 0] * v[:, 0:1] + M[..., 1] * v[:, 1:2] + M[..., 2] * v[:, 2:3]


def _outside_distance(mask):
    """Distance (px) to the person for pixels outside the mask, 0 inside and beyond the image
    edges (a body may continue past the frame)."""
    import cv2

    m = (mask > 0.5).astype(np.uint8)
    pad = 8
    mp = cv2.copyMakeBorder(m, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=1)
    d = cv2.distanceTransform(1 - mp, cv2.DIST_L2, 5)
    return d.astype(np.float32), pad


def _sample(dt, uv):
    import cv2

    d, pad = dt
    p = (uv + pad).astype(np.float32).reshape(-1, 1, 2)
    out = cv2.remap(d, p[..., 0], p[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return out.reshape(uv.shape[:-1])


def _uniform_girth(size):
    from .builtin_mesh import SEGMENTS

    return {s: float(size) for s in SEGMENTS}


def render_photo_raster(fit_or_parts, photo_size=None):
    """Raster (face id, barycentrics, depth) of a fit's body in its photo camera."""
    from ..passes.raster import rasterize

    fit = fit_or_parts
    body = fit.body()
    from .builtin_mesh import skin

    V = skin(body, fit.pose, fit.trans, _offsets_of(body))
    cam = fit.camera
    xy, z = cam.project(V, return_depth=True)
    faces = visible_faces(body, fit.hidden_parts)
    r = rasterize(xy, z, body.faces[faces], cam.height, cam.width)
    fid = np.where(r.face_id >= 0, faces[np.maximum(r.face_id, 0)], -1).astype(np.int32)
    r.face_id = fid
    return r, V, xy, z


def visible_faces(body, hidden_parts) -> np.ndarray:
    """Indices of the faces that are rendered (all but ``hidden_parts``)."""
    if not hidden_parts:
        return np.arange(len(body.faces))
    return np.nonzero(~np.isin(body.face_parts, list(hidden_parts)))[0]


def _measure_girth(photo, pose, trans, pitch, off, girth, f, half):
    """Per segment: the mask's width across the projected bone / the body's, where both edges
    are free (background beyond them, not another part), as a radius scale."""
    import cv2

    from ..passes.raster import rasterize
    from .builtin_mesh import SEGMENTS, build_builtin_body, skin

    W, H = photo.size
    body = build_builtin_body(off, girth=girth)
    V = skin(body, pose, trans, _offsets_of(body))
    R = camera_rotation(pitch)
    cx, cy = (W - 1) / 2.0, (H - 1) / 2.0
    xy, c = _project(V, R, f, cx, cy)
    faces = visible_faces(body, LEG_PARTS if half else ())
    r = rasterize(xy, c[:, 2], body.faces[faces], H, W)
    seg_of_face = body.vertex_segments[body.faces[faces, 0]]
    seg = np.where(r.face_id >= 0, seg_of_face[np.maximum(r.face_id, 0)], -1)
    mask = np.asarray(photo.mask) > 0.5
    pos, _ = _fk(pose, trans, off)
    jp, _ = _project(pos, R, f, cx, cy)
    out = dict(girth)
    measured = set()
    for key, bones in GIRTH_BONES.items():
        ratios = []
        for a, b in bones:
            if half and key in ("thigh", "shin"):
                continue
            side = a.split("_")[0] if a.startswith(("left", "right")) else None
            sname = f"{side}_{key}" if side else key
            sid = SEGMENTS.index(sname)
            pa, pb = jp[J[a]], jp[J[b]]
            L = float(np.linalg.norm(pb - pa))
            if L < 6:
                continue
            d = (pb - pa) / L
            n = np.array([-d[1], d[0]])
            for t in np.linspace(0.25, 0.75, 7):
                p0 = pa + t * (pb - pa)
                wb = _extent(seg == sid, p0, n, W, H)
                wm = _extent_free(mask, seg, sid, p0, n, W, H)
                if wb is not None and wm is not None and wb > 2:
                    ratios.append(wm / wb)
        if len(ratios) < 3 and key == "torso":
            # arms along the sides hide the torso's own edges: compare the width of the whole
            # upper body (arm to arm) instead, and widen the arms that had no edges of their own
            upper = np.isin(seg, [SEGMENTS.index(n) for n in SEGMENTS if not n.endswith(("thigh", "shin", "foot"))])
            pa, pb = jp[J["pelvis"]], jp[J["neck"]]
            L = float(np.linalg.norm(pb - pa))
            if L >= 6:
                d = (pb - pa) / L
                n = np.array([-d[1], d[0]])
                for t in np.linspace(0.3, 0.8, 9):
                    p0 = pa + t * (pb - pa)
                    wb = _extent(upper, p0, n, W, H)
                    wm = _extent_free(mask, np.where(upper, 0, seg), 0, p0, n, W, H)
                    if wm is not None and wb > 2:
                        ratios.append(wm / wb)
            if len(ratios) >= 3:
                for arm in ("upper_arm", "forearm"):
                    if arm not in measured:
                        k = float(np.clip(np.median(ratios), *GIRTH_RANGE)) * 0.97
                        for side in ("left", "right"):
                            out[f"{side}_{arm}"] = float(np.clip(out[f"{side}_{arm}"] * k, *GIRTH_RANGE))
        if len(ratios) >= 3:
            measured.add(key)
            k = float(np.clip(np.median(ratios), *GIRTH_RANGE)) * 0.97
            names = [s for s in SEGMENTS if s == key or s.endswith("_" + key)]
            for s in names:
                out[s] = float(np.clip(out[s] * k, *GIRTH_RANGE))
                if key == "upper_arm":
                    out[s.replace("upper_arm", "shoulder")] = out[s]
                if key == "forearm":
                    out[s.replace("forearm", "hand")] = out[s]
                if key == "shin":
                    out[s.replace("shin", "foot")] = out[s]
    out["neck"] = min(out.get("torso", 1.0), out.get("skull", 1.0))
    del cv2
    return out


def _march(inside_fn, p0, n, W, H, max_px=400):
    """Pixels walked from p0 along n while inside_fn(x, y) holds; (count, stop pixel)."""
    for k in range(1, max_px):
        x, y = int(round(p0[0] + k * n[0])), int(round(p0[1] + k * n[1]))
        if not (0 <= x < W and 0 <= y < H):
            return k, None
        if not inside_fn(x, y):
            return k, (x, y)
    return max_px, None


def _extent(region, p0, n, W, H):
    a, _ = _march(lambda x, y: region[y, x], p0, n, W, H)
    b, _ = _march(lambda x, y: region[y, x], p0, -n, W, H)
    return a + b - 1


def _extent_free(mask, seg, sid, p0, n, W, H):
    """Mask width across p0 when both ends stop at background that no other part covers."""
    total = 0
    for s in (n, -n):
        k, stop = _march(lambda x, y: mask[y, x] and seg[y, x] in (sid, -1), p0, s, W, H)
        if stop is None:
            return None                                   # the image edge: unknown width
        x, y = stop
        if mask[y, x]:
            return None                                   # ran into another part of the body
        total += k
    return total - 1


def fit_report(fit: BodyFit, photo) -> dict:
    """Reprojection errors (px, and relative to the torso) and silhouette agreement."""
    from .builtin_mesh import skin  # noqa: F401

    pos, rot = fit.joints()
    head_k = float(fit.girth.get("skull", 1.0))
    P = _landmark_points(pos, rot, head_k)
    uv = fit.camera.project(np.nan_to_num(P))
    lm, vis = np.asarray(photo.landmarks), np.asarray(photo.visibility)
    W, H = photo.size
    ok = np.array([i in LANDMARK_POINTS and vis[i] >= VISIBLE and 0 <= lm[i, 0] < W and 0 <= lm[i, 1] < H
                   and not (fit.half_body and i in LEG_LANDMARKS) for i in range(33)])
    err = np.linalg.norm(uv - lm, axis=1)
    torso = float(np.linalg.norm(0.5 * (lm[11] + lm[12]) - 0.5 * (lm[23] + lm[24])))
    r, *_ = render_photo_raster(fit)
    body = r.face_id >= 0
    person = np.asarray(photo.mask) > 0.5
    inter = float((body & person).sum())
    return dict(
        landmark_error_px_median=round(float(np.median(err[ok])), 2) if ok.any() else None,
        landmark_error_px_max=round(float(err[ok].max()), 2) if ok.any() else None,
        torso_px=round(torso, 1),
        body_inside_person=round(inter / max(float(body.sum()), 1.0), 4),
        person_covered_by_body=round(inter / max(float(person.sum()), 1.0), 4),
        per_landmark_px={int(i): round(float(err[i]), 1) for i in np.nonzero(ok)[0]},
        scale=round(fit.scale, 3), pitch_deg=round(float(fit.camera.meta.get("pitch_deg", 0.0)), 2),
        facing_yaw_deg=round(math.degrees(float(_root_yaw(fit.pose[0]))), 1),
    )


def _root_yaw(rv) -> float:
    R = axis_angle_to_matrix(np.asarray(rv, float))
    fwd = R[:, 2]
    return math.atan2(fwd[0], fwd[2])


__all__ = ["BodyFit", "fit_body", "render_photo_raster", "visible_faces", "camera_rotation",
           "matrix_to_axis_angle"]
