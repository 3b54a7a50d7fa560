"""Physical plausibility: PFC, foot skating, ground penetration, jerk.

All take world joints (T,24,3) in the project's frame (Y up, metres, floor at
y = 0) sampled at ``fps`` (30). Foot joints are the motion file's contact joints
(left ankle, left toe, right ankle, right toe); their heights when standing flat
are their "contact heights" (:func:`contact_heights`: ankles 0.08 m, toes about
0.02 m; ``rest`` names another body's rest joints).
"""

from __future__ import annotations

import numpy as np

from ..body.skeleton import ANKLE_HEIGHT, CONTACT_JOINTS, JOINT_INDEX, rest_joints
from ._checks import as_joints

UP = 1          # Y up
FLAT = (0, 2)   # the floor plane


def contact_heights(rest: np.ndarray | None = None) -> np.ndarray:
    """Heights (4,) of the foot joints when this body stands flat: ankles at ANKLE_HEIGHT, toes
    wherever the rest pose puts them relative to their ankle (0.020 m left, 0.018 m right here)."""
    r = rest_joints() if rest is None else np.asarray(rest, np.float64)
    la, ra = JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"]
    ankle_of = (la, la, ra, ra)
    return np.array([r[j, 1] - r[a, 1] + ANKLE_HEIGHT for j, a in zip(CONTACT_JOINTS, ankle_of)])


def pfc(joints: np.ndarray, fps: float = 30.0) -> float:
    """Physical Foot Contact score of EDGE (Tseng et al. 2023, eval/eval_pfc.py); lower is better.

    With dt = 1/fps:
      a_root[t] = (p_root[t+2] - 2 p_root[t+1] + p_root[t]) / dt^2, its up component
                  clamped to >= 0 (only upward support needs a foot), then |a_root[t]|,
                  divided by its maximum over the clip;
      v_f[t]    = |horizontal (p_f[t+2] - p_f[t+1])| in metres per FRAME for each foot joint;
      PFC       = 10^4 * mean_t( a_root[t] * min(v_la, v_lt)[t] * min(v_ra, v_rt)[t] ).
    The idea: when the body's centre accelerates, at least one foot must be
    planted (not moving). The 10^4 factor and per-frame foot speeds are EDGE's,
    so numbers are on the paper's scale (EDGE 1.5, AIST++ ground truth 1.3)
    for 30 fps motions; EDGE averages this over clips (we return one clip's score).
    A clip whose root never accelerates scores 0 (EDGE would divide by zero).
    """
    j = as_joints(joints, min_frames=3)
    dt = 1.0 / fps
    root = j[:, 0]
    v = np.diff(root, axis=0) / dt
    a = np.diff(v, axis=0) / dt
    a[:, UP] = np.maximum(a[:, UP], 0.0)
    a = np.linalg.norm(a, axis=1)
    if a.max() <= 1e-9:
        return 0.0
    a = a / a.max()
    feet = j[:, list(CONTACT_JOINTS)][:, :, list(FLAT)]
    fv = np.linalg.norm(feet[2:] - feet[1:-1], axis=2)  # (T-2, 4) metres per frame
    left = np.minimum(fv[:, 0], fv[:, 1])
    right = np.minimum(fv[:, 2], fv[:, 3])
    return float((a * left * right).mean() * 1e4)


# Foot skating: a foot joint within CONTACT_MARGIN of its contact height is on the
# floor; on the floor it should not slide faster than SKATE_SPEED. 5 cm and 0.5 m/s
# follow the usual foot-skate protocol (GMD, Karunratanakul et al. 2023: height
# < 5 cm, slide > 2.5 cm per frame at 20 fps = 0.5 m/s); written as a speed, so
# the threshold means the same at any frame rate (1.67 cm/frame at 30 fps).
CONTACT_MARGIN = 0.05
SKATE_SPEED = 0.5


def foot_contact_mask(joints: np.ndarray, margin: float = CONTACT_MARGIN, rest=None) -> np.ndarray:
    """(T,4) bool: foot joint within ``margin`` metres above its contact height."""
    j = as_joints(joints)
    h = j[:, list(CONTACT_JOINTS), UP] - contact_heights(rest)[None]
    return h < margin


def foot_skate_ratio(joints: np.ndarray, fps: float = 30.0, margin: float = CONTACT_MARGIN,
                     speed: float = SKATE_SPEED, rest=None) -> float:
    """Fraction of frame steps in which some foot joint skates; lower is better.

    For each step t -> t+1 (T-1 of them) and each foot joint f (ankles, toes):
    f is in contact when its height is below contact_height_f + margin (5 cm)
    in BOTH frames, and it skates when, in contact, its horizontal speed
    |xz(p_f[t+1] - p_f[t])| * fps exceeds ``speed`` (0.5 m/s). The ratio is
    (# steps with any skating foot joint) / (T-1), in [0, 1].
    """
    j = as_joints(joints, min_frames=2)
    contact = foot_contact_mask(j, margin, rest)
    both = contact[1:] & contact[:-1]
    feet = j[:, list(CONTACT_JOINTS)][:, :, list(FLAT)]
    v = np.linalg.norm(np.diff(feet, axis=0), axis=2) * fps
    skate = both & (v > speed)
    return float(skate.any(axis=1).mean())


FLOOR_SKATE_SPEED = 0.3


def floor_skate(joints: np.ndarray, fps: float = 30.0, margin: float = CONTACT_MARGIN,
                speed: float = FLOOR_SKATE_SPEED) -> dict:
    """Foot sliding as a viewer sees it (issue 16's definition), per foot joint.

    A foot joint (ankles, toes) is on the floor in a step t -> t+1 when it is within ``margin``
    (5 cm) of its own lowest height in the clip in BOTH frames, whatever the skeleton's rest
    heights say; it slides when its horizontal speed then exceeds ``speed`` (0.3 m/s).
    Returns {"ratio": sliding / floor (joint, step) pairs over the four joints,
    "toe_ratio": the same over the two toes, "median_speed": median floor speed (m/s),
    "floor_steps": how many (joint, step) pairs were on the floor}.
    """
    j = as_joints(joints, min_frames=2)
    feet = j[:, list(CONTACT_JOINTS)]
    low = feet[..., UP] - feet[..., UP].min(axis=0, keepdims=True) < margin
    both = low[1:] & low[:-1]
    v = np.linalg.norm(np.diff(feet[..., list(FLAT)], axis=0), axis=-1) * fps
    toes = [1, 3]   # CONTACT_JOINTS: left ankle, left toe, right ankle, right toe

    def ratio(m, vv):
        return float((vv[m] > speed).mean()) if m.any() else 0.0

    return {"ratio": ratio(both, v), "toe_ratio": ratio(both[:, toes], v[:, toes]),
            "median_speed": float(np.median(v[both])) if both.any() else 0.0, "floor_steps": int(both.sum())}


def ground_penetration(joints: np.ndarray, tolerance: float = 0.005, rest=None) -> dict:
    """How far the body sinks into the floor.

    depth_j[t] = max(0, floor_height_j - y_j[t]) with floor_height = contact height
    for the four foot joints (a foot joint lower than that puts the sole under
    the floor) and 0 for every other joint (its centre under the floor).
    Returns {"mean_m": mean over frames of the deepest joint's depth,
    "max_m": deepest over the clip, "frac_frames": fraction of frames whose
    deepest depth exceeds ``tolerance`` (5 mm)}.
    """
    j = as_joints(joints)
    floor = np.zeros(j.shape[1])
    floor[list(CONTACT_JOINTS)] = contact_heights(rest)
    depth = np.maximum(0.0, floor[None, :] - j[:, :, UP]).max(axis=1)
    return {"mean_m": float(depth.mean()), "max_m": float(depth.max()),
            "frac_frames": float((depth > tolerance).mean())}


def jerk(joints: np.ndarray, fps: float = 30.0) -> float:
    """Mean jerk magnitude in m/s^3: mean over frames and joints of |d^3 p / dt^3|.

    Third forward difference: (p[t+3] - 3p[t+2] + 3p[t+1] - p[t]) * fps^3, over
    all 24 joints in world space. Smooth human dance is of the order of 10^1 to
    10^2 m/s^3 at 30 fps; frame-to-frame jitter makes it explode. 0 for a clip
    shorter than 4 frames.
    """
    j = as_joints(joints)
    if len(j) < 4:
        return 0.0
    d3 = np.diff(j, n=3, axis=0) * fps ** 3
    return float(np.linalg.norm(d3, axis=2).mean())


__all__ = ["pfc", "foot_skate_ratio", "foot_contact_mask", "ground_penetration", "jerk",
           "contact_heights", "CONTACT_MARGIN", "SKATE_SPEED"]
