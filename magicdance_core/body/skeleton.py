"""The SMPL 24-joint skeleton in the project's conventions (DESIGN.md).

SMPL frame: Y up, metres, the body faces +Z, the person's left is +X, floor y = 0.
Rest pose is a T-pose with identity local rotations. ``REST_OFFSETS[j]`` is the
offset of joint j from its parent in the rest pose (the pelvis row is zero: the
root translation ``trans`` of a motion *is* the pelvis position).

The proportions are the project's own: close to the SMPL neutral template's
joint locations rounded to millimetres (no licensed data is shipped). With a
user's SMPL model, :mod:`magicdance_core.body.smpl_model` supplies joints instead.
"""

from __future__ import annotations

import numpy as np

JOINT_NAMES = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck",
    "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hand", "right_hand",
)
NUM_JOINTS = 24
PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)
JOINT_INDEX = {name: i for i, name in enumerate(JOINT_NAMES)}

# Offsets from parent, metres, SMPL frame (Y up, +Z forward, +X = person's left).
REST_OFFSETS = np.array(
    [
        [0.000, 0.000, 0.000],     # pelvis
        [0.058, -0.082, -0.018],   # left_hip
        [-0.060, -0.091, -0.014],  # right_hip
        [0.004, 0.124, -0.038],    # spine1
        [0.043, -0.386, 0.008],    # left_knee
        [-0.043, -0.383, -0.005],  # right_knee
        [0.004, 0.138, 0.028],     # spine2
        [-0.015, -0.426, -0.037],  # left_ankle
        [0.019, -0.420, -0.035],   # right_ankle
        [0.001, 0.056, 0.002],     # spine3
        [0.041, -0.060, 0.122],    # left_foot (ball of the foot / toe base)
        [-0.035, -0.062, 0.130],   # right_foot
        [-0.013, 0.212, -0.033],   # neck
        [0.072, 0.120, -0.019],    # left_collar
        [-0.083, 0.119, -0.024],   # right_collar
        [0.010, 0.089, 0.050],     # head
        [0.123, 0.045, -0.019],    # left_shoulder
        [-0.113, 0.047, -0.009],   # right_shoulder
        [0.255, -0.016, -0.023],   # left_elbow
        [-0.260, -0.014, -0.031],  # right_elbow
        [0.266, 0.011, -0.006],    # left_wrist
        [-0.269, 0.007, -0.006],   # right_wrist
        [0.086, -0.011, -0.016],   # left_hand
        [-0.087, -0.010, -0.011],  # right_hand
    ],
    dtype=np.float64,
)

# Heights of foot joints above the sole when standing flat (the joints sit inside the foot).
ANKLE_HEIGHT = 0.080
TOE_HEIGHT = 0.020
# Pelvis height in the rest pose when the ankles are ANKLE_HEIGHT above the floor
# (both legs have the same rest length, 0.894 m hip-to-ankle).
REST_PELVIS_HEIGHT = float(-(REST_OFFSETS[1, 1] + REST_OFFSETS[4, 1] + REST_OFFSETS[7, 1])) + ANKLE_HEIGHT

# Foot joints in the order of the motion file's ``contacts`` columns.
CONTACT_JOINTS = (JOINT_INDEX["left_ankle"], JOINT_INDEX["left_foot"],
                  JOINT_INDEX["right_ankle"], JOINT_INDEX["right_foot"])
CONTACT_HEIGHTS = (ANKLE_HEIGHT, TOE_HEIGHT, ANKLE_HEIGHT, TOE_HEIGHT)

# Left/right pairs for mirroring a pose (person's left <-> right).
MIRROR_INDEX = tuple(
    JOINT_INDEX[n.replace("left_", "@").replace("right_", "left_").replace("@", "right_")]
    for n in JOINT_NAMES
)

# Children lists, handy for drawing bones and walking the tree.
CHILDREN = tuple(tuple(c for c, p in enumerate(PARENTS) if p == j) for j in range(NUM_JOINTS))


def rest_joints(offsets: np.ndarray | None = None) -> np.ndarray:
    """World positions (24,3) of the rest T-pose with the pelvis at the origin."""
    off = REST_OFFSETS if offsets is None else np.asarray(offsets, dtype=np.float64)
    out = np.zeros((NUM_JOINTS, 3))
    for j in range(NUM_JOINTS):
        p = PARENTS[j]
        out[j] = off[j] if p < 0 else out[p] + off[j]
    return out


def offsets_from_joints(joints: np.ndarray) -> np.ndarray:
    """Parent-relative offsets (24,3) from rest-pose world joints (24,3)."""
    joints = np.asarray(joints, dtype=np.float64)
    off = joints.copy()
    for j in range(1, NUM_JOINTS):
        off[j] = joints[j] - joints[PARENTS[j]]
    off[0] = 0.0
    return off
