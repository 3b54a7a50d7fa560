"""OpenPose COCO-18 keypoints from SMPL joints.

COCO-18 needs nose, eyes and ears, which SMPL's skeleton does not have: they are
placed on the head from the head joint and the head's global orientation with
fixed offsets (metres, in the head's rest frame: +X the person's left, +Y up,
+Z forward), measured on the built-in body's head. Without rotations the head
frame is estimated from the joints (up = neck->head, forward = torso facing), which
loses head yaw/nod relative to the torso but keeps the face on the right side.

Every other keypoint is a joint itself (hips, knees, ankles, shoulders, elbows,
wrists) or a joint average (neck = mid-shoulders, as OpenPose's neck).
"""

from __future__ import annotations

import numpy as np

from ..body.skeleton import JOINT_INDEX

J = JOINT_INDEX

# Head-local offsets from the head joint (metres). See module docstring.
HEAD_OFFSETS = {
    "nose": (0.0, 0.050, 0.112),
    "right_eye": (-0.032, 0.090, 0.100),
    "left_eye": (0.032, 0.090, 0.100),
    "right_ear": (-0.086, 0.060, 0.010),
    "left_ear": (0.086, 0.060, 0.010),
    "head_top": (0.0, 0.220, 0.015),
}

# COCO-18 index -> SMPL joint index (None: derived).
_COCO_FROM_SMPL = {
    2: J["right_shoulder"], 3: J["right_elbow"], 4: J["right_wrist"],
    5: J["left_shoulder"], 6: J["left_elbow"], 7: J["left_wrist"],
    8: J["right_hip"], 9: J["right_knee"], 10: J["right_ankle"],
    11: J["left_hip"], 12: J["left_knee"], 13: J["left_ankle"],
}
_COCO_HEAD = {0: "nose", 14: "right_eye", 15: "left_eye", 16: "right_ear", 17: "left_ear"}


def _unit(v):
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def facing(joints: np.ndarray) -> np.ndarray:
    """Horizontal unit vector the body faces, (...,3), from hips and shoulders.

    The body faces +Z with its left at +X, so forward = (left - right) x up.
    """
    joints = np.asarray(joints, dtype=np.float64)
    lr = (joints[..., J["left_hip"], :] - joints[..., J["right_hip"], :]) + (
        joints[..., J["left_shoulder"], :] - joints[..., J["right_shoulder"], :])
    fwd = np.cross(lr, np.array([0.0, 1.0, 0.0]))
    fwd[..., 1] = 0.0
    return _unit(fwd)


def head_frames(joints: np.ndarray, global_rots: np.ndarray | None = None) -> np.ndarray:
    """Head orientation (...,3,3) whose columns are the head's left, up, forward axes."""
    joints = np.asarray(joints, dtype=np.float64)
    if global_rots is not None:
        return np.asarray(global_rots, dtype=np.float64)[..., J["head"], :, :]
    return _joint_frame(joints) @ _REST_FRAME_T


def _joint_frame(joints):
    # neck->head leans forward in the rest pose; _REST_FRAME_T undoes that lean.
    up = _unit(joints[..., J["head"], :] - joints[..., J["neck"], :])
    fwd = facing(joints)
    left = _unit(np.cross(up, fwd))
    fwd = np.cross(left, up)
    return np.stack([left, up, fwd], axis=-1)


def _rest_frame_t():
    from ..body.skeleton import rest_joints

    return _joint_frame(rest_joints()).T


_REST_FRAME_T = _rest_frame_t()


def head_points(joints: np.ndarray, global_rots: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """World positions (...,3) of nose, eyes, ears and head top."""
    joints = np.asarray(joints, dtype=np.float64)
    R = head_frames(joints, global_rots)
    h = joints[..., J["head"], :]
    return {k: h + (R @ np.asarray(o))[..., :] for k, o in HEAD_OFFSETS.items()}


def coco18_world(joints: np.ndarray, global_rots: np.ndarray | None = None) -> np.ndarray:
    """COCO-18 keypoints (...,18,3) in world coordinates from SMPL joints (...,24,3)."""
    joints = np.asarray(joints, dtype=np.float64)
    out = np.zeros(joints.shape[:-2] + (18, 3))
    for c, s in _COCO_FROM_SMPL.items():
        out[..., c, :] = joints[..., s, :]
    out[..., 1, :] = 0.5 * (joints[..., J["left_shoulder"], :] + joints[..., J["right_shoulder"], :])
    hp = head_points(joints, global_rots)
    for c, name in _COCO_HEAD.items():
        out[..., c, :] = hp[name]
    return out
