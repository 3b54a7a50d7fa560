"""The character's bone rotations and root motion for an SMPL take (numpy, no bpy).

Inputs are plain arrays the Blender side reads off the two armatures:

- the source: the take as a :class:`~magicdance_core.body.motion_file.Motion`, the dancer's
  rest joints (armature space, SMPL frame) and its object matrix;
- the target: :class:`TargetRig` (bone names, parents, rest matrices = ``bone.matrix_local``,
  the object's world matrix).

Method (per mapped bone, world space, so Y-up vs Z-up, armature scale and bone rolls drop out):

1. Rest alignment ``A_j``: the rotation that best turns the character's rest bone directions
   (this joint to its mapped child joints) onto the dancer's (Kabsch; one child: the shortest
   arc; no mapped child: the parent's).  An A-posed arm is turned up into the dancer's T-pose.
2. World rotation at frame t: ``W_b(t) = G_j(t) · G_j,rest⁻¹ · A_j · W_b,rest`` — the dancer's
   change from its rest, applied to the aligned rest of the character's bone.
3. Local rotation as Blender stores it: relative to the nearest *mapped* ancestor, through the
   rest matrices of the bones in between (those bones keep their rest pose, e.g. Mixamo has none,
   CMU's LHipJoint, Unreal's root).
4. Root motion: the pelvis's displacement from standing, scaled by the legs' length ratio.
5. Planted feet: where the take's ankle contact is on, the character's ankle is held at one spot
   (the mean of where it would be) by a two-bone IK on thigh and shin that keeps the knee's bend
   plane; the foot keeps its world rotation.  Offsets fade out over a few frames.  A spot out of
   the leg's reach straightens the leg towards it (the foot then slides by what is missing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..body import skeleton
from ..body.fk import forward_kinematics_matrices
from ..body.rotations import axis_angle_to_matrix, matrix_to_quat, quat_make_continuous
from ..errors import BadInput
from .bone_names import check_mapping

LEGS = (("left_hip", "left_knee", "left_ankle", 0), ("right_hip", "right_knee", "right_ankle", 2))
CONTACT_ON = 0.5
FADE_FRAMES = 4


@dataclass
class TargetRig:
    """The character's armature as plain arrays (``rest`` = Blender's ``bone.matrix_local``)."""

    names: List[str]
    parents: List[int]            # index into names, -1 for a root bone
    rest: np.ndarray              # (N,4,4) armature space
    matrix_world: np.ndarray = field(default_factory=lambda: np.eye(4))

    def __post_init__(self):
        self.rest = np.asarray(self.rest, np.float64).reshape(-1, 4, 4)
        self.matrix_world = np.asarray(self.matrix_world, np.float64).reshape(4, 4)
        self.index = {n: i for i, n in enumerate(self.names)}

    def depth(self) -> Dict[str, int]:
        out = {}
        for i, n in enumerate(self.names):
            d, p = 0, self.parents[i]
            while p >= 0:
                d, p = d + 1, self.parents[p]
            out[n] = d
        return out

    def heads(self) -> np.ndarray:
        return self.rest[:, :3, 3]


@dataclass
class Retargeted:
    """Result: per mapped bone local quaternions (T,4) wxyz, the root bone's location (T,3)."""

    bones: List[str]                     # mapped target bones, parents before children
    joints: List[str]                    # their SMPL joints
    quats: np.ndarray                    # (T,B,4) pose-bone rotation_quaternion
    root_bone: str
    root_location: np.ndarray            # (T,3) pose-bone location of the root bone
    positions_world: np.ndarray          # (T,B,3) bone heads, world, as Blender will evaluate them
    reference_world: np.ndarray          # (T,B,3) the dancer's joints moved/scaled onto the character
    leg_scale: float
    planted: np.ndarray                  # (T,2) bool: left/right ankle held by the foot IK


def _rot(m):
    """Rotation part of (...,4,4) or (...,3,3) with scale removed (columns normalised)."""
    r = np.asarray(m, np.float64)[..., :3, :3]
    return r / np.linalg.norm(r, axis=-2, keepdims=True)


def _shortest_arc(a, b):
    """(...,3,3) rotation taking direction a onto direction b."""
    a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    v = np.cross(a, b)
    c = np.sum(a * b, -1)
    vx = np.zeros(v.shape[:-1] + (3, 3))
    vx[..., 0, 1], vx[..., 0, 2] = -v[..., 2], v[..., 1]
    vx[..., 1, 0], vx[..., 1, 2] = v[..., 2], -v[..., 0]
    vx[..., 2, 0], vx[..., 2, 1] = -v[..., 1], v[..., 0]
    k = 1.0 / np.maximum(1.0 + c, 1e-9)
    out = np.eye(3) + vx + vx @ vx * k[..., None, None]
    # Opposite directions: half a turn about any axis perpendicular to a.
    opp = c < -1 + 1e-9
    if np.any(opp):
        ao = a[opp]
        perp = np.cross(ao, np.where(np.abs(ao[..., :1]) < 0.9, [1.0, 0, 0], [0, 1.0, 0]))
        perp /= np.linalg.norm(perp, axis=-1, keepdims=True)
        out[opp] = 2 * perp[..., :, None] * perp[..., None, :] - np.eye(3)
    return out


def _kabsch(src, dst):
    """Rotation R minimising sum |R src_i - dst_i|² over unit directions (rows)."""
    src = src / np.linalg.norm(src, axis=-1, keepdims=True)
    dst = dst / np.linalg.norm(dst, axis=-1, keepdims=True)
    if len(src) == 1:
        return _shortest_arc(src[0], dst[0])
    h = src.T @ dst
    u, _s, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(vt.T @ u.T)) or 1.0
    return vt.T @ np.diag([1.0, 1.0, d]) @ u.T


def _mapped_children(j: int, mapped: set) -> List[int]:
    """SMPL joints below j that are mapped, the nearest on each branch."""
    out = []
    for c in range(skeleton.NUM_JOINTS):
        if skeleton.PARENTS[c] == j:
            out.extend([c] if c in mapped else _mapped_children(c, mapped))
    return out


def leg_length(points: Dict[str, np.ndarray]) -> Optional[float]:
    """Mean hip-knee-ankle length over the sides that have all three points."""
    lens = []
    for hip, knee, ankle, _c in LEGS:
        if hip in points and knee in points and ankle in points:
            lens.append(np.linalg.norm(points[knee] - points[hip]) + np.linalg.norm(points[ankle] - points[knee]))
    return float(np.mean(lens)) if lens else None


def source_standing_offset(rest_joints: np.ndarray) -> np.ndarray:
    """The motion's ``trans`` of the dancer standing on the floor in its rest pose (SMPL frame)."""
    rj = np.asarray(rest_joints, np.float64)
    sole = min(rj[skeleton.JOINT_INDEX["left_ankle"], 1], rj[skeleton.JOINT_INDEX["right_ankle"], 1]) - skeleton.ANKLE_HEIGHT
    return np.array([0.0, rj[0, 1] - sole, 0.0])


def _standing_root(heads_w, target, bone_of, ri, scale):
    """World position of the character's root bone when it stands on its floor (Blender world,
    Z up; the floor is the height of the character's object origin).

    A character modelled standing on its origin keeps its rest height; one whose rest feet are
    below the origin (the dancer's own rig has the pelvis at the origin) is lifted onto it, with
    the dancer's ankle height scaled."""
    base = heads_w[ri].copy()
    ankles = [heads_w[target.index[bone_of[a]]][2] for a in ("left_ankle", "right_ankle") if a in bone_of]
    if not ankles:
        return base
    floor = target.matrix_world[2, 3]
    ankle_h = min(ankles) - floor
    if not 0.0 <= ankle_h <= 0.5 * max(base[2] - floor, 1e-6):
        ankle_h = scale * skeleton.ANKLE_HEIGHT
    base[2] = floor + (base[2] - min(ankles)) + ankle_h
    return base


def _segments(on: np.ndarray):
    """[(start, end_inclusive)] runs of True."""
    d = np.diff(np.concatenate([[0], on.astype(np.int8), [0]]))
    return list(zip(np.nonzero(d == 1)[0], np.nonzero(d == -1)[0] - 1))


def plant_offsets(pos: np.ndarray, on: np.ndarray, fade: int = FADE_FRAMES) -> np.ndarray:
    """(T,3) corrections that hold ``pos`` at its mean over each run of ``on``, fading out
    linearly over ``fade`` frames on either side."""
    T = len(pos)
    off = np.zeros((T, 3))
    weight = np.zeros(T)
    for a, b in _segments(on):
        goal = pos[a:b + 1].mean(0)
        off[a:b + 1] = goal - pos[a:b + 1]
        weight[a:b + 1] = 1.0
        for k in range(1, fade + 1):
            w = 1.0 - k / (fade + 1)
            for t, edge in ((a - k, a), (b + k, b)):
                if 0 <= t < T and w > weight[t]:
                    off[t] = (goal - pos[edge]) * w
                    weight[t] = w
    return off


def _two_bone_ik(hip, knee, ankle, goal):
    """(thigh delta, shin delta) world rotations (T,3,3) that bring ``ankle`` to ``goal``, the knee
    staying in the plane of hip, knee and goal."""
    l1 = np.linalg.norm(knee - hip, axis=-1)
    l2 = np.linalg.norm(ankle - knee, axis=-1)
    d_vec = goal - hip
    d = np.linalg.norm(d_vec, axis=-1)
    d = np.clip(d, np.abs(l1 - l2) + 1e-6, l1 + l2 - 1e-6)
    u = d_vec / np.maximum(np.linalg.norm(d_vec, axis=-1, keepdims=True), 1e-12)
    kv = knee - hip
    v = kv - np.sum(kv * u, -1, keepdims=True) * u
    vn = np.linalg.norm(v, axis=-1, keepdims=True)
    # A straight leg has no bend plane: bend it forward-ish, along the current thigh's normal.
    fallback = np.cross(u, np.cross(ankle - hip, u) + np.array([1e-3, 0, 0]))
    v = np.where(vn > 1e-6, v / np.maximum(vn, 1e-12),
                 fallback / np.maximum(np.linalg.norm(fallback, axis=-1, keepdims=True), 1e-12))
    cos_a = np.clip((l1 ** 2 + d ** 2 - l2 ** 2) / (2 * l1 * d), -1, 1)
    sin_a = np.sqrt(1 - cos_a ** 2)
    new_knee = hip + l1[:, None] * (cos_a[:, None] * u + sin_a[:, None] * v)
    r1 = _shortest_arc(knee - hip, new_knee - hip)
    shin_after = np.einsum("tij,tj->ti", r1, ankle - knee)
    goal_on_reach = hip + u * d[:, None]
    r2 = _shortest_arc(shin_after, goal_on_reach - new_knee)
    return r1, r2


def retarget(motion, src_rest_joints, src_matrix_world, target: TargetRig, mapping: Dict[str, str],
             foot_plant: bool = True, align_rest: bool = True) -> Retargeted:
    """The character's keys for ``motion`` (see the module docstring for the method).

    ``align_rest=False`` skips step 1 (the character's rest pose is taken as the dancer's): the
    benchmark's control, which is what a plain copy of rotation deltas does to an A-posed rig.
    """
    mapping = check_mapping(mapping, target.names)
    T = motion.num_frames
    if T < 1:
        raise BadInput("the take has no frames")
    rj = np.asarray(src_rest_joints, np.float64).reshape(24, 3)
    Ms = np.asarray(src_matrix_world, np.float64).reshape(4, 4)
    Ms_rot = _rot(Ms)
    Mt = target.matrix_world
    Mt_rot = _rot(Mt)

    # 1. The dancer, world space: joint positions and rotations per frame, and at rest.
    offsets = rj - np.where(np.arange(24)[:, None] > 0, rj[np.maximum(skeleton.PARENTS, 0)], 0)
    offsets[0] = 0
    local = axis_angle_to_matrix(np.asarray(motion.poses, np.float64))
    trans = np.asarray(motion.trans, np.float64) + rj[0]
    pos_s, glob_s = forward_kinematics_matrices(local, trans, offsets)
    P_s = pos_s @ Ms[:3, :3].T + Ms[:3, 3]
    G_s = np.einsum("ij,tkjl->tkil", Ms_rot, glob_s)
    rest_s_world = rj @ Ms[:3, :3].T + Ms[:3, 3]
    stand = Ms[:3, :3] @ (rj[0] + source_standing_offset(rj)) + Ms[:3, 3]

    # Mapped bones, parents first (the target's own order), with their nearest mapped ancestor.
    bone_of = dict(mapping)
    joint_of = {b: j for j, b in bone_of.items()}
    order = sorted(joint_of, key=lambda b: target.depth()[b])
    mapped_j = {skeleton.JOINT_INDEX[j] for j in bone_of}
    heads_w = target.heads() @ Mt[:3, :3].T + Mt[:3, 3]
    rest_t_world = np.einsum("ij,njk->nik", Mt_rot, _rot(target.rest))

    # 2. Rest alignment per SMPL joint (world), parents before children.
    align: Dict[int, np.ndarray] = {}
    for j in range(24):
        p = skeleton.PARENTS[j]
        inherited = align.get(p, np.eye(3)) if p >= 0 else np.eye(3)
        if j not in mapped_j or not align_rest:
            align[j] = inherited
            continue
        kids = _mapped_children(j, mapped_j)
        if not kids:
            align[j] = inherited
            continue
        bj = target.index[bone_of[skeleton.JOINT_NAMES[j]]]
        src = np.array([heads_w[target.index[bone_of[skeleton.JOINT_NAMES[c]]]] - heads_w[bj] for c in kids])
        dst = np.array([rest_s_world[c] - rest_s_world[j] for c in kids])
        good = np.linalg.norm(src, axis=-1) > 1e-6
        align[j] = _kabsch(src[good], dst[good]) if good.any() else inherited

    # 3. World rotations of the character's bones -> armature-space pose rotations.
    B = len(order)
    Qpose = np.empty((T, B, 3, 3))
    for k, b in enumerate(order):
        j = skeleton.JOINT_INDEX[joint_of[b]]
        aligned_rest = align[j] @ rest_t_world[target.index[b]]
        W = G_s[:, j] @ (Ms_rot.T @ aligned_rest)
        Qpose[:, k] = Mt_rot.T @ W
    anc = []
    for b in order:
        p = target.parents[target.index[b]]
        while p >= 0 and target.names[p] not in joint_of:
            p = target.parents[p]
        anc.append(order.index(target.names[p]) if p >= 0 else -1)

    # 4. Root motion, scaled by leg length, in the root bone's rest frame.
    root = bone_of["pelvis"]
    ri = target.index[root]
    pts_t = {joint_of[b]: heads_w[target.index[b]] for b in order}
    pts_s = {n: rest_s_world[i] for i, n in enumerate(skeleton.JOINT_NAMES)}
    lt, ls = leg_length(pts_t), leg_length(pts_s)
    scale = lt / ls if (lt and ls) else 1.0
    base = _standing_root(heads_w, target, bone_of, ri, scale)
    root_w = base + scale * (P_s[:, 0] - stand)
    Mt_inv = np.linalg.inv(Mt)
    root_arm = root_w @ Mt_inv[:3, :3].T + Mt_inv[:3, 3]

    def fk(Qp):
        pos = np.empty((T, B, 3))
        heads = target.heads()
        for k, b in enumerate(order):
            a = anc[k]
            hb = heads[target.index[b]]
            if b == root:
                pos[:, k] = root_arm
            elif a < 0:
                pos[:, k] = hb
            else:
                ra = target.rest[target.index[order[a]]]
                off = _rot(ra).T @ (hb - ra[:3, 3])
                pos[:, k] = pos[:, a] + np.einsum("tij,j->ti", Qp[:, a], off)
        return pos

    pos = fk(Qpose)

    # 5. Planted feet: two-bone IK towards the held ankle positions (armature space).
    planted = np.zeros((T, 2), bool)
    contacts = np.asarray(motion.contacts, np.float64).reshape(T, 4)
    if foot_plant:
        for side, (hip, knee, ankle, ci) in enumerate(LEGS):
            if not all(x in bone_of for x in (hip, knee, ankle)):
                continue
            kh, kk, ka = (order.index(bone_of[x]) for x in (hip, knee, ankle))
            if anc[kk] != kh or anc[ka] != kk:
                continue   # thigh, shin, foot not one chain: no IK
            on = contacts[:, ci] > CONTACT_ON
            planted[:, side] = on
            off = plant_offsets(pos[:, ka], on)
            todo = np.linalg.norm(off, axis=-1) > 1e-7
            if not todo.any():
                continue
            r1, r2 = _two_bone_ik(pos[todo, kh], pos[todo, kk], pos[todo, ka], pos[todo, ka] + off[todo])
            Qpose[todo, kh] = r1 @ Qpose[todo, kh]
            Qpose[todo, kk] = r2 @ r1 @ Qpose[todo, kk]
        pos = fk(Qpose)

    # 6. Local rotations, as pose bones store them.
    quats = np.empty((T, B, 4))
    for k, b in enumerate(order):
        rb = _rot(target.rest[target.index[b]])
        a = anc[k]
        if a < 0:
            local_r = rb.T @ Qpose[:, k]
        else:
            ra = _rot(target.rest[target.index[order[a]]])
            local_r = rb.T @ ra @ np.swapaxes(Qpose[:, a], -1, -2) @ Qpose[:, k]
        quats[:, k] = matrix_to_quat(local_r)
    quats = quat_make_continuous(quats, axis=0)
    rr = target.rest[ri]
    root_loc = (root_arm - rr[:3, 3]) @ _rot(rr)
    if anc[order.index(root)] >= 0:
        raise BadInput(f"the pelvis bone {root} sits below another mapped bone; map the character's hips bone")

    ref = np.empty((T, B, 3))
    pos_w = pos @ Mt[:3, :3].T + Mt[:3, 3]
    for k, b in enumerate(order):
        j = skeleton.JOINT_INDEX[joint_of[b]]
        ref[:, k] = base + scale * (P_s[:, j] - stand)
    return Retargeted(bones=order, joints=[joint_of[b] for b in order], quats=quats, root_bone=root,
                      root_location=root_loc, positions_world=pos_w, reference_world=ref,
                      leg_scale=float(scale), planted=planted)


def foot_slide_cm(positions_world: np.ndarray, planted: np.ndarray, up_axis: int = 2) -> Dict[str, float]:
    """Horizontal travel of a foot between consecutive planted frames (cm per frame): mean, max."""
    steps = []
    for side in range(planted.shape[1]):
        p = positions_world[:, side]
        both = planted[1:, side] & planted[:-1, side]
        d = np.delete(p[1:] - p[:-1], up_axis, axis=-1)
        steps.append(np.linalg.norm(d, axis=-1)[both])
    s = np.concatenate(steps) if steps else np.zeros(0)
    if not len(s):
        return {"mean": 0.0, "max": 0.0, "frames": 0}
    return {"mean": float(s.mean() * 100), "max": float(s.max() * 100), "frames": int(len(s))}
