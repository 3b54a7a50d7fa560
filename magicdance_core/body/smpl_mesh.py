"""The user's SMPL mesh as a :class:`~.builtin_mesh.BuiltinBody` (DensePose parts, per-part UV).

The add-on builds the dancer from either body alike. From the SMPL model
(see :mod:`.smpl_model`) we take the rest vertices with the user's betas
(shifted so the pelvis is at the origin, as the armature expects), its faces and
its skin weights, and label every face with a DensePose part: the joint that
dominates the face's skin weights names the body segment, and the side of the
segment's axis it lies on picks one of the segment's two DensePose parts -- the rule
builtin_mesh uses: back/front for the torso, legs and arms (legs: lower id = back; arms: lower
id = front, DensePose's own convention), right/left (-X/+X) halves for the head. Vertices on a part border are duplicated so
each has a U,V inside its own part: V runs along the segment axis, U around it.
"""

from __future__ import annotations

import numpy as np

from ..fileio import PathLike
from .builtin_mesh import BuiltinBody
from .skeleton import JOINT_INDEX, NUM_JOINTS

J = JOINT_INDEX

# segment -> (part on the -ref side, part on the +ref side, axis start joint, axis end joint);
# ref is +Z (the body's front) except for the head, split into right (-X) and left (+X) halves.
_REF = {"head": np.array([1.0, 0.0, 0.0])}
_SEG = {
    "torso": (1, 2, "pelvis", "neck"),
    "head": (23, 24, "neck", "head"),
    "upper_leg_l": (8, 10, "left_hip", "left_knee"), "upper_leg_r": (7, 9, "right_hip", "right_knee"),
    "lower_leg_l": (12, 14, "left_knee", "left_ankle"), "lower_leg_r": (11, 13, "right_knee", "right_ankle"),
    "foot_l": (5, 5, "left_ankle", "left_foot"), "foot_r": (6, 6, "right_ankle", "right_foot"),
    "upper_arm_l": (17, 15, "left_shoulder", "left_elbow"), "upper_arm_r": (18, 16, "right_shoulder", "right_elbow"),
    "lower_arm_l": (21, 19, "left_elbow", "left_wrist"), "lower_arm_r": (22, 20, "right_elbow", "right_wrist"),
    "hand_l": (4, 4, "left_wrist", "left_hand"), "hand_r": (3, 3, "right_wrist", "right_hand"),
}
_JOINT_SEG = {
    "pelvis": "torso", "spine1": "torso", "spine2": "torso", "spine3": "torso",
    "left_collar": "torso", "right_collar": "torso", "neck": "head", "head": "head",
    "left_hip": "upper_leg_l", "right_hip": "upper_leg_r", "left_knee": "lower_leg_l", "right_knee": "lower_leg_r",
    "left_ankle": "foot_l", "left_foot": "foot_l", "right_ankle": "foot_r", "right_foot": "foot_r",
    "left_shoulder": "upper_arm_l", "right_shoulder": "upper_arm_r", "left_elbow": "lower_arm_l",
    "right_elbow": "lower_arm_r", "left_wrist": "hand_l", "left_hand": "hand_l",
    "right_wrist": "hand_r", "right_hand": "hand_r",
}
_SEG_NAMES = tuple(_SEG)
_JOINT_TO_SEG = np.array([_SEG_NAMES.index(_JOINT_SEG[n]) for n in JOINT_INDEX])


def _axis_frame(a, b, ref=None):
    d = b - a
    n = np.linalg.norm(d)
    d = d / n if n > 1e-9 else np.array([0.0, 1.0, 0.0])
    ref = np.array([0.0, 0.0, 1.0]) if ref is None else ref
    front = ref - (ref @ d) * d  # the reference direction projected off the axis
    if np.linalg.norm(front) < 1e-6:  # axis along Z (feet): front is up
        front = np.array([0.0, 1.0, 0.0]) - d[1] * d
    front /= np.linalg.norm(front)
    return d, front, np.cross(d, front)


def label_smpl_mesh(vertices, faces, weights, joints) -> BuiltinBody:
    """DensePose parts, per-part UVs and split seams for any SMPL-topology mesh."""
    V = np.asarray(vertices, dtype=np.float64)
    F = np.asarray(faces, dtype=np.int64)
    W = np.asarray(weights, dtype=np.float64)
    rj = np.asarray(joints, dtype=np.float64)
    face_joint = np.argmax(W[F].sum(axis=1), axis=1)
    face_seg = _JOINT_TO_SEG[face_joint]
    centroid = V[F].mean(axis=1)
    face_part = np.zeros(len(F), dtype=np.int32)
    for s, name in enumerate(_SEG_NAMES):
        back, front_id, ja, jb = _SEG[name]
        sel = face_seg == s
        a = rj[J[ja]]
        d, front, _ = _axis_frame(a, rj[J[jb]], _REF.get(name))
        r = centroid[sel] - a
        r -= (r @ d)[:, None] * d
        face_part[sel] = np.where(r @ front >= 0, front_id, back)
    # One vertex copy per (vertex, part) so UVs never straddle two parts.
    keys = F * 32 + face_part[:, None]
    uniq, inv = np.unique(keys.ravel(), return_inverse=True)
    src = uniq // 32
    vparts = (uniq % 32).astype(np.int32)
    new_faces = inv.reshape(F.shape).astype(np.int32)
    nv = V[src]
    uv = np.zeros((len(src), 2))
    part_seg = {}
    for name, (back, front_id, _, _) in _SEG.items():
        part_seg[back] = part_seg[front_id] = name
    for p in np.unique(vparts):
        name = part_seg[int(p)]
        back, front_id, ja, jb = _SEG[name]
        sel = vparts == p
        a = rj[J[ja]]
        d, front, side = _axis_frame(a, rj[J[jb]], _REF.get(name))
        r = nv[sel] - a
        t = r @ d
        v = (t - t.min()) / max(np.ptp(t), 1e-9)
        ang = np.arctan2(r @ side, r @ front)  # 0 = straight in front
        if back == front_id:
            u = (ang + np.pi) / (2 * np.pi)
        elif p == front_id:
            u = np.clip((ang + np.pi / 2) / np.pi, 0, 1)
        else:
            u = np.clip((np.mod(ang, 2 * np.pi) - np.pi / 2) / np.pi, 0, 1)
        uv[sel] = np.stack([u, v], -1)
    w = W[src]
    w = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-12)
    return BuiltinBody(vertices=nv, faces=new_faces, face_parts=face_part, weights=w, uv=uv,
                       vertex_parts=vparts, rest_joints=rj)


def load_smpl_body(path: PathLike, betas=None, gender: str = "neutral") -> BuiltinBody:
    """The user's SMPL body in rest T-pose, pelvis at the origin, labelled like the built-in one.

    ``rest_joints`` are the model's joints (also pelvis at the origin): build the
    armature from them so bones and skin agree.
    """
    import torch

    from .smpl_model import load_smpl_model

    model = load_smpl_model(path, betas=betas, gender=gender)
    layer = model._layer
    with torch.no_grad():
        out = layer(betas=torch.as_tensor(model.betas, dtype=torch.float32)[None])
    verts = out.vertices[0].double().numpy() - model.pelvis_offset
    joints = model.rest_joints - model.pelvis_offset
    weights = layer.lbs_weights.double().numpy()
    assert weights.shape[1] == NUM_JOINTS
    return label_smpl_mesh(verts, model.faces, weights, joints)
