"""The built-in body: a person-shaped, skinned mesh on the project's skeleton (no licensed data).

One closed tube per body segment (a lathe with rounded ends and an elliptic
cross-section), merged into one mesh.  Each tube is made of two halves
(front/back about its axis) so every face carries one DensePose part id and
every vertex a U,V inside its own part; vertices on the seam between halves are
duplicated, which is what a per-part IUV map needs.

Frame: SMPL's (Y up, metres, the body faces +Z, the person's left is +X), rest
T-pose with the pelvis at the origin.  Skin weights are smooth, piecewise linear
along each segment's axis (a partition of unity), blending into the parent joint
near the proximal end and into the child near the distal end.

DensePose part ids (DESIGN.md), checked against DensePose's own conventions:
its horizontal-flip table (``Index_Symmetry_List`` in DensePose's code) swaps
23 <-> 24 and keeps 1 and 2, so the head is split into the person's right (23)
and left (24) halves (a frontal face shows both), while the torso is split into
back (1) and front (2).  Legs: the lower id is the back (7/9, 8/10, 11/13,
12/14); arms the other way round, the lower id is the front (15/17, 16/18,
19/21, 20/22), as DensePose's published part lists and visual checks of its
output agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .fk import forward_kinematics_matrices
from .rotations import axis_angle_to_matrix
from .skeleton import JOINT_INDEX, NUM_JOINTS, rest_joints

J = JOINT_INDEX

PART_NAMES = {
    1: "torso_back", 2: "torso_front", 3: "right_hand", 4: "left_hand", 5: "left_foot",
    6: "right_foot", 7: "upper_leg_right_back", 8: "upper_leg_left_back",
    9: "upper_leg_right_front", 10: "upper_leg_left_front", 11: "lower_leg_right_back",
    12: "lower_leg_left_back", 13: "lower_leg_right_front", 14: "lower_leg_left_front",
    15: "upper_arm_left_front", 16: "upper_arm_right_front", 17: "upper_arm_left_back",
    18: "upper_arm_right_back", 19: "lower_arm_left_front", 20: "lower_arm_right_front",
    21: "lower_arm_left_back", 22: "lower_arm_right_back", 23: "head_right", 24: "head_left",
}


@dataclass
class BuiltinBody:
    vertices: np.ndarray      # (V,3) float64, rest pose, metres, Y up
    faces: np.ndarray         # (F,3) int32, counter-clockwise seen from outside
    face_parts: np.ndarray    # (F,) int32 DensePose part id 1..24
    weights: np.ndarray       # (V,24) float64, rows sum to 1
    uv: np.ndarray            # (V,2) float64 in [0,1] within the vertex's part
    vertex_parts: np.ndarray  # (V,) int32 part id of each vertex (seams are duplicated)
    rest_joints: np.ndarray   # (24,3) joint positions the mesh was built on
    part_names: dict = field(default_factory=lambda: dict(PART_NAMES))
    vertex_segments: np.ndarray = None  # (V,) index into SEGMENTS of each vertex's tube

    @property
    def num_vertices(self) -> int:
        return int(self.vertices.shape[0])


@dataclass
class _Segment:
    start: np.ndarray          # axis start (the proximal end, before rounding)
    end: np.ndarray            # axis end
    # Radius profile along the axis: fractions s in [0,1] with (width, depth) radii.
    profile: list              # [(s, width, depth), ...]
    weights: list              # [(s, {joint: w}), ...] controls along the axis
    parts: tuple               # (id of the half opposite ``front``, id of the half toward it)
    front: tuple = (0.0, 0.0, 1.0)   # which way "front" points (projected off the axis)
    cap: float = 1.0           # how far the rounded ends reach, in units of the end radius
    name: str = ""             # SEGMENTS entry; ``girth`` scales are looked up by it


def _interp_profile(profile, s):
    xs = np.array([p[0] for p in profile])
    w = np.interp(s, xs, [p[1] for p in profile])
    d = np.interp(s, xs, [p[2] for p in profile])
    return w, d


def _interp_weights(controls, s):
    xs = np.array([c[0] for c in controls])
    out = np.zeros((len(s), NUM_JOINTS))
    for j in {j for _, w in controls for j in w}:
        out[:, j] = np.interp(s, xs, [w.get(j, 0.0) for _, w in controls])
    return out / out.sum(1, keepdims=True)


def _tube(seg: _Segment, n_along: int, n_half: int):
    """Vertices, faces, parts, weights, uv of one closed segment (two halves)."""
    a = np.asarray(seg.start, float)
    b = np.asarray(seg.end, float)
    axis = b - a
    length = float(np.linalg.norm(axis))
    d = axis / length
    f = np.asarray(seg.front, float)
    f = f - d * (f @ d)
    f /= np.linalg.norm(f)
    side = np.cross(d, f)
    w0, d0 = _interp_profile(seg.profile, np.array([0.0]))
    w1, d1 = _interp_profile(seg.profile, np.array([1.0]))
    r0 = float(min(w0[0], d0[0])) * seg.cap
    r1 = float(min(w1[0], d1[0])) * seg.cap
    # Stations along the axis: rounded cap beyond each end (quarter circle), straight part between.
    k = np.linspace(0.0, 1.0, n_along + 1)
    n_cap = max(2, n_along // 5)
    phi0 = np.linspace(-np.pi / 2, 0, n_cap + 1)
    phi1 = np.linspace(0, np.pi / 2, n_cap + 1)
    body = np.linspace(0, length, n_along - 2 * n_cap + 1)[1:-1]
    x = np.concatenate([r0 * np.sin(phi0), body, length + r1 * np.sin(phi1)])
    shrink = np.concatenate([np.cos(phi0), np.ones(len(body)), np.cos(phi1)])
    s = np.clip(x / length, 0.0, 1.0)
    wid, dep = _interp_profile(seg.profile, s)
    wid = wid * shrink
    dep = dep * shrink
    v_along = (x - x[0]) / (x[-1] - x[0])
    del k
    verts, faces, fparts, weights, uvs, vparts = [], [], [], [], [], []
    base = 0
    for half, (lo, hi) in enumerate(((np.pi / 2, 3 * np.pi / 2), (-np.pi / 2, np.pi / 2))):
        part = seg.parts[half]   # half 0: opposite ``front`` (cos < 0), half 1: toward it
        th = np.linspace(lo, hi, n_half + 1)
        # (stations, around) grid
        pos = (a[None, None] + d[None, None] * x[:, None, None]
               + f[None, None] * (np.cos(th)[None, :, None] * dep[:, None, None])
               + side[None, None] * (np.sin(th)[None, :, None] * wid[:, None, None]))
        nr, nc = pos.shape[:2]
        verts.append(pos.reshape(-1, 3))
        uu, vv = np.meshgrid((th - lo) / (hi - lo), v_along)
        uvs.append(np.stack([uu.ravel(), vv.ravel()], 1))
        wts = _interp_weights(seg.weights, s)
        weights.append(np.repeat(wts, nc, axis=0))
        vparts.append(np.full(nr * nc, part))
        idx = np.arange(nr * nc).reshape(nr, nc) + base
        q00, q01, q10, q11 = idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1], idx[1:, 1:]
        tris = np.concatenate([np.stack([q00, q10, q11], -1).reshape(-1, 3),
                               np.stack([q00, q11, q01], -1).reshape(-1, 3)])
        faces.append(tris)
        fparts.append(np.full(len(tris), part))
        base += nr * nc
    V = np.concatenate(verts)
    F = np.concatenate(faces)
    P = np.concatenate(fparts)
    # Drop triangles collapsed at the poles (two corners on the same point).
    e1 = V[F[:, 1]] - V[F[:, 0]]
    e2 = V[F[:, 2]] - V[F[:, 0]]
    n = np.cross(e1, e2)
    area = np.linalg.norm(n, axis=1)
    keep = area > 1e-10
    F, P, n = F[keep], P[keep], n[keep]
    # Orient outward: compare each normal with the direction away from the axis
    # (or along it at the rounded ends).
    c = V[F].mean(1)
    t = np.clip((c - a) @ d, 0.0, length)
    out = c - (a + d[None] * t[:, None])
    out = np.where((np.linalg.norm(out, axis=1) < 1e-9)[:, None], d[None] * np.sign(((c - a) @ d) - length / 2)[:, None], out)
    flip = np.einsum("ij,ij->i", n, out) < 0
    F[flip] = F[flip][:, ::-1]
    return V, F, P, np.concatenate(weights), np.concatenate(uvs), np.concatenate(vparts)


SEGMENTS = ("torso", "neck", "skull") + tuple(
    f"{side}_{n}" for side in ("left", "right")
    for n in ("thigh", "shin", "foot", "shoulder", "upper_arm", "forearm", "hand"))


def _girth_of(girth, name: str) -> float:
    """Scale of segment ``name`` from ``girth``: a number, or a dict keyed by segment name or
    by its side-less name (``"thigh"`` for both thighs); 1 where absent."""
    if girth is None:
        return 1.0
    if not isinstance(girth, dict):
        return float(girth)
    base = name.split("_", 1)[1] if name.startswith(("left_", "right_")) else name
    return float(girth.get(name, girth.get(base, 1.0)))


def _segments(rj: np.ndarray, girth=None) -> list:
    """The body as segments over the rest joints ``rj`` (24,3); ``girth`` scales the radii
    (and the head's, hands' and feet's own size) per segment, see :func:`_girth_of`."""
    segs = []
    g = lambda n: _girth_of(girth, n)  # noqa: E731
    up = np.array([0.0, 1.0, 0.0])
    pel, sp1, sp2, sp3, neck, head = (rj[J[n]] for n in ("pelvis", "spine1", "spine2", "spine3", "neck", "head"))
    # Torso: from below the hip joints to the base of the neck; hips, waist, chest, shoulders.
    hip_y = min(rj[J["left_hip"], 1], rj[J["right_hip"], 1])
    bottom = np.array([pel[0], hip_y - 0.06, pel[2] - 0.005])
    top = np.array([neck[0], neck[1] - 0.01, neck[2] - 0.005])
    L = top[1] - bottom[1]

    def sy(y):  # height -> fraction along the torso axis
        return float((y - bottom[1]) / L)

    segs.append(_Segment(
        bottom, top,
        profile=[(0.0, 0.165, 0.105), (sy(pel[1]), 0.175, 0.11), (sy(sp1[1]), 0.150, 0.10),
                 (sy(sp2[1]), 0.160, 0.115), (sy(sp3[1]), 0.175, 0.115),
                 (sy(rj[J["left_collar"], 1]), 0.18, 0.10), (1.0, 0.11, 0.075)],
        weights=[(0.0, {J["pelvis"]: 1.0}), (sy(pel[1]), {J["pelvis"]: 1.0}),
                 (sy(sp1[1]), {J["spine1"]: 1.0}), (sy(sp2[1]), {J["spine2"]: 1.0}),
                 (sy(sp3[1]), {J["spine3"]: 1.0}),
                 (sy(rj[J["left_collar"], 1]), {J["spine3"]: 0.7, J["neck"]: 0.3}),
                 (1.0, {J["spine3"]: 0.4, J["neck"]: 0.6})],
        parts=(1, 2), cap=0.35, name="torso"))
    # Neck (labelled head, as DensePose does) and head.
    # The head's halves are right (23, -X) and left (24, +X): "front" points to the
    # person's left, so the profile's (width, depth) are the (Z, X) radii here.
    segs.append(_Segment(neck - up * 0.03, head, profile=[(0, 0.055, 0.055), (1, 0.05, 0.05)],
                         weights=[(0, {J["spine3"]: 0.5, J["neck"]: 0.5}), (0.4, {J["neck"]: 1.0}),
                                  (1, {J["neck"]: 0.5, J["head"]: 0.5})], parts=(23, 24),
                         front=(1.0, 0.0, 0.0), cap=0.5, name="neck"))
    k = g("skull")  # a bigger (a child's) or smaller head keeps its shape
    skull_c = head + k * np.array([0.0, 0.07, 0.015])
    segs.append(_Segment(skull_c - up * 0.09 * k, skull_c + up * 0.095 * k,
                         profile=[(0, 0.08, 0.07), (0.3, 0.10, 0.085), (0.7, 0.10, 0.088), (1, 0.07, 0.06)],
                         weights=[(0, {J["neck"]: 0.3, J["head"]: 0.7}), (0.25, {J["head"]: 1.0}), (1, {J["head"]: 1.0})],
                         parts=(23, 24), front=(1.0, 0.0, 0.0), cap=0.9, name="skull"))
    for side, sgn in (("left", 1.0), ("right", -1.0)):
        hip, knee, ankle, toe = (rj[J[f"{side}_{n}"]] for n in ("hip", "knee", "ankle", "foot"))
        collar, sho, elb, wri, hand = (rj[J[f"{side}_{n}"]] for n in ("collar", "shoulder", "elbow", "wrist", "hand"))
        left = side == "left"
        # Upper leg: from slightly above the hip joint to the knee.
        segs.append(_Segment(hip + up * 0.04, knee,
                             profile=[(0, 0.088, 0.092), (0.5, 0.072, 0.075), (1, 0.055, 0.058)],
                             weights=[(0, {J["pelvis"]: 0.5, J[f"{side}_hip"]: 0.5}), (0.2, {J[f"{side}_hip"]: 1.0}),
                                      (0.85, {J[f"{side}_hip"]: 1.0}), (1, {J[f"{side}_hip"]: 0.5, J[f"{side}_knee"]: 0.5})],
                             parts=(8, 10) if left else (7, 9), cap=0.6, name=f"{side}_thigh"))
        segs.append(_Segment(knee, ankle,
                             profile=[(0, 0.055, 0.058), (0.35, 0.055, 0.06), (1, 0.036, 0.038)],
                             weights=[(0, {J[f"{side}_hip"]: 0.5, J[f"{side}_knee"]: 0.5}), (0.15, {J[f"{side}_knee"]: 1.0}),
                                      (0.9, {J[f"{side}_knee"]: 1.0}), (1, {J[f"{side}_knee"]: 0.6, J[f"{side}_ankle"]: 0.4})],
                             parts=(12, 14) if left else (11, 13), cap=0.6, name=f"{side}_shin"))
        # Foot: heel behind the ankle to the toe tips, sole near the floor level.
        kf = g(f"{side}_foot")
        heel = ankle + kf * np.array([0.0, -0.04, -0.055])
        tip = toe + kf * np.array([0.005 * sgn, 0.002, 0.07])
        ftoe = float(np.linalg.norm(toe - heel) / np.linalg.norm(tip - heel))
        fid = 5 if left else 6
        segs.append(_Segment(heel, tip, profile=[(0, 0.035, 0.038), (0.45, 0.045, 0.03), (1, 0.04, 0.018)],
                             weights=[(0, {J[f"{side}_ankle"]: 1.0}), (max(ftoe - 0.15, 0.1), {J[f"{side}_ankle"]: 1.0}),
                                      (ftoe, {J[f"{side}_ankle"]: 0.5, J[f"{side}_foot"]: 0.5}), (1, {J[f"{side}_foot"]: 1.0})],
                             parts=(fid, fid), front=(0.0, 1.0, 0.0), cap=0.8, name=f"{side}_foot"))
        # Shoulder cap (collar bone region), part of the torso.
        segs.append(_Segment(collar - np.array([0.03 * sgn, 0, 0]), sho,
                             profile=[(0, 0.06, 0.065), (1, 0.055, 0.055)],
                             weights=[(0, {J["spine3"]: 0.5, J[f"{side}_collar"]: 0.5}), (0.4, {J[f"{side}_collar"]: 1.0}),
                                      (1, {J[f"{side}_collar"]: 0.5, J[f"{side}_shoulder"]: 0.5})],
                             parts=(1, 2), cap=0.8, name=f"{side}_shoulder"))
        segs.append(_Segment(sho, elb, profile=[(0, 0.052, 0.055), (0.5, 0.045, 0.047), (1, 0.038, 0.04)],
                             weights=[(0, {J[f"{side}_collar"]: 0.5, J[f"{side}_shoulder"]: 0.5}), (0.2, {J[f"{side}_shoulder"]: 1.0}),
                                      (0.85, {J[f"{side}_shoulder"]: 1.0}), (1, {J[f"{side}_shoulder"]: 0.5, J[f"{side}_elbow"]: 0.5})],
                             parts=(17, 15) if left else (18, 16), cap=0.7, name=f"{side}_upper_arm"))
        segs.append(_Segment(elb, wri, profile=[(0, 0.038, 0.04), (0.4, 0.04, 0.037), (1, 0.03, 0.025)],
                             weights=[(0, {J[f"{side}_shoulder"]: 0.5, J[f"{side}_elbow"]: 0.5}), (0.15, {J[f"{side}_elbow"]: 1.0}),
                                      (0.9, {J[f"{side}_elbow"]: 1.0}), (1, {J[f"{side}_elbow"]: 0.5, J[f"{side}_wrist"]: 0.5})],
                             parts=(21, 19) if left else (22, 20), cap=0.7, name=f"{side}_forearm"))
        # Hand: flat paddle from the wrist past the hand joint (finger tips ~ 0.18 m from the wrist).
        hdir = (hand - wri) / np.linalg.norm(hand - wri)
        hl = 0.18 * g(f"{side}_hand")
        tipp = wri + hdir * hl
        fh = min(float(np.linalg.norm(hand - wri) / hl), 0.95)
        hid = 4 if left else 3
        segs.append(_Segment(wri, tipp, profile=[(0, 0.035, 0.022), (0.5, 0.045, 0.017), (1, 0.035, 0.012)],
                             weights=[(0, {J[f"{side}_elbow"]: 0.3, J[f"{side}_wrist"]: 0.7}), (0.1, {J[f"{side}_wrist"]: 1.0}),
                                      (fh, {J[f"{side}_wrist"]: 0.5, J[f"{side}_hand"]: 0.5}), (1, {J[f"{side}_hand"]: 1.0})],
                             parts=(hid, hid), front=(0.0, 0.0, 1.0), cap=0.6, name=f"{side}_hand"))
        # Front reference for the hand's flat side: the palm faces down in the T-pose.
        segs[-1].front = (0.0, 1.0, 0.0)
    for sg in segs:
        k = g(sg.name)
        sg.profile = [(s, w * k, d * k) for s, w, d in sg.profile]
    return segs


def build_builtin_body(offsets=None, n_along: int = 20, n_half: int = 10, girth=None) -> BuiltinBody:
    """The built-in body on the project's skeleton (or on ``offsets`` (24,3)); ``girth``:
    radius scale per segment (a number or a dict, see :data:`SEGMENTS`), e.g. fitted to a photo."""
    rj = rest_joints(offsets)
    segs = _segments(rj, girth)
    parts = [_tube(s, n_along, n_half) for s in segs]
    base = np.cumsum([0] + [p[0].shape[0] for p in parts])[:-1]
    V = np.concatenate([p[0] for p in parts])
    F = np.concatenate([p[1] + b for p, b in zip(parts, base)]).astype(np.int32)
    return BuiltinBody(
        vertices=V, faces=F, face_parts=np.concatenate([p[2] for p in parts]).astype(np.int32),
        weights=np.concatenate([p[3] for p in parts]), uv=np.clip(np.concatenate([p[4] for p in parts]), 0, 1),
        vertex_parts=np.concatenate([p[5] for p in parts]).astype(np.int32), rest_joints=rj,
        vertex_segments=np.repeat([SEGMENTS.index(sg.name) for sg in segs],
                                  [p[0].shape[0] for p in parts]).astype(np.int32))


def skin(body: BuiltinBody, poses, trans, offsets=None) -> np.ndarray:
    """Linear blend skinning: posed vertices (T,V,3) (or (V,3) for one frame).

    poses: (T,24,3) or (24,3) axis-angle local rotations; trans: (T,3) or (3,)
    pelvis world position (the motion file's ``trans``).
    """
    poses = np.asarray(poses, dtype=np.float64)
    trans = np.asarray(trans, dtype=np.float64)
    single = poses.ndim == 2
    if single:
        poses, trans = poses[None], trans[None]
    if offsets is None:
        from .skeleton import offsets_from_joints
        offsets = offsets_from_joints(body.rest_joints)
    pos, rot = forward_kinematics_matrices(axis_angle_to_matrix(poses), trans, offsets)
    # Per-joint affine transform taking rest space to posed space: x -> R x + (p - R rest),
    # as 3x4 rows [R | t] flattened to 12 numbers per joint.
    t = pos - np.einsum("tjab,jb->tja", rot, body.rest_joints)
    A = np.concatenate([rot, t[..., None]], axis=-1).reshape(len(rot), NUM_JOINTS, 12)
    # Blend the transforms per vertex with one matrix product, (V,24) @ (24,12) per frame
    # (BLAS), then apply each vertex's own 3x4.  Measured on the 7854-vertex body, 120 random
    # frames, OMP_NUM_THREADS=1, shared 2-core CPU: 1.1-1.5 ms/frame, was 7.2-10.7 ms/frame
    # with per-vertex einsum blending of the rotations (results equal to 1e-15).
    M = (body.weights @ A).reshape(len(rot), -1, 3, 4)
    v = body.vertices
    out = M[..., 3] + M[..., 0] * v[:, 0:1] + M[..., 1] * v[:, 1:2] + M[..., 2] * v[:, 2:3]
    return out[0] if single else out
