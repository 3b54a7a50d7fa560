"""Joint-limit violations, measured on joint positions only.

Positions rather than local rotations, so that the metric judges any motion
(ours, AIST++ keypoints, a retargeted clip) the same way and cannot be fooled
by how a rotation is split between twist and swing. Each limit bounds the bend
at one joint: the angle between the bone into the joint and the bone out of it,
relative to the same angle in the rest T-pose (degrees). The ranges are
generous human ranges (dancers included), so a violation means a pose a body
cannot take, not an unusual one:

  joint       bones                               allowed bend change (deg)
  knee        hip->knee vs knee->ankle            flexion <= 160; hyperextension <= 15
  elbow       shoulder->elbow vs elbow->wrist     <= 165
  ankle       knee->ankle vs ankle->toe           dorsiflexion <= 40, plantarflexion <= 65
  hip         spine1->pelvis vs hip->knee         <= 150 (high kicks and splits pass)
  spine (x3)  consecutive spine bones             <= 50 each
  neck        spine3->neck vs neck->head          <= 70
  wrist       elbow->wrist vs wrist->hand         <= 95
"""

from __future__ import annotations

import numpy as np

from ..body.skeleton import JOINT_INDEX as J
from ..body.skeleton import rest_joints
from ._checks import as_joints

# name, (a, b, c, d): angle between b - a and d - c; (lo, hi) on angle - rest angle.
LIMITS = (
    ("left_knee", ("left_hip", "left_knee", "left_knee", "left_ankle"), (-360, 160)),
    ("right_knee", ("right_hip", "right_knee", "right_knee", "right_ankle"), (-360, 160)),
    ("left_elbow", ("left_shoulder", "left_elbow", "left_elbow", "left_wrist"), (-360, 165)),
    ("right_elbow", ("right_shoulder", "right_elbow", "right_elbow", "right_wrist"), (-360, 165)),
    ("left_ankle", ("left_knee", "left_ankle", "left_ankle", "left_foot"), (-40, 65)),
    ("right_ankle", ("right_knee", "right_ankle", "right_ankle", "right_foot"), (-40, 65)),
    ("left_hip", ("spine1", "pelvis", "left_hip", "left_knee"), (-360, 150)),
    ("right_hip", ("spine1", "pelvis", "right_hip", "right_knee"), (-360, 150)),
    ("spine1", ("pelvis", "spine1", "spine1", "spine2"), (-360, 50)),
    ("spine2", ("spine1", "spine2", "spine2", "spine3"), (-360, 50)),
    ("spine3", ("spine2", "spine3", "spine3", "neck"), (-360, 50)),
    ("neck", ("spine3", "neck", "neck", "head"), (-360, 70)),
    ("left_wrist", ("left_elbow", "left_wrist", "left_wrist", "left_hand"), (-360, 95)),
    ("right_wrist", ("right_elbow", "right_wrist", "right_wrist", "right_hand"), (-360, 95)),
)
KNEE_HYPEREXTENSION_DEG = 15.0


def _angles(p: np.ndarray, a, b, c, d) -> np.ndarray:
    u = p[..., J[b], :] - p[..., J[a], :]
    w = p[..., J[d], :] - p[..., J[c], :]
    cos = (u * w).sum(-1) / np.maximum(np.linalg.norm(u, axis=-1) * np.linalg.norm(w, axis=-1), 1e-12)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _knee_backward_bend(p: np.ndarray, side: str) -> np.ndarray:
    """Signed knee bend (deg) about the pelvis' left-right axis; negative = bent forwards (hyperextended)."""
    lateral = p[:, J["left_hip"]] - p[:, J["right_hip"]]
    lateral /= np.maximum(np.linalg.norm(lateral, axis=1, keepdims=True), 1e-12)
    thigh = p[:, J[f"{side}_knee"]] - p[:, J[f"{side}_hip"]]
    shin = p[:, J[f"{side}_ankle"]] - p[:, J[f"{side}_knee"]]
    cross = np.cross(thigh, shin)
    s = (cross * lateral).sum(1) / np.maximum(np.linalg.norm(thigh, axis=1) * np.linalg.norm(shin, axis=1), 1e-12)
    return np.degrees(np.arcsin(np.clip(s, -1.0, 1.0)))


def joint_limit_violations(joints: np.ndarray, rest: np.ndarray | None = None) -> dict:
    """Fraction of (frame, limited joint) pairs beyond the limits above.

    joints: (T,24,3) world positions; rest: (24,3) rest-pose joints of the same
    body (default: the project's skeleton). Returns {"ratio": violations /
    (T * 14), "frames": fraction of frames with any violation, "per_joint":
    {name: fraction of frames}}.
    """
    p = as_joints(joints)
    r = rest_joints() if rest is None else np.asarray(rest, np.float64)
    bad = np.zeros((len(p), len(LIMITS)), bool)
    for k, (name, bones, (lo, hi)) in enumerate(LIMITS):
        change = _angles(p, *bones) - _angles(r[None], *bones)[0]
        bad[:, k] = (change < lo) | (change > hi)
        if name.endswith("knee"):
            bad[:, k] |= _knee_backward_bend(p, name.split("_")[0]) < -KNEE_HYPEREXTENSION_DEG
    return {"ratio": float(bad.mean()), "frames": float(bad.any(axis=1).mean()),
            "per_joint": {name: float(bad[:, k].mean()) for k, (name, _, _) in enumerate(LIMITS)}}
