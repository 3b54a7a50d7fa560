"""Per-joint rotation limits of the SMPL skeleton (degrees), for plausibility checks.

Limits are on the axis-angle components of each *local* rotation (SMPL frame:
x = the person's left, y up, z forward), a fair proxy for anatomical ranges at
the angles dancers use. They are deliberately generous: they flag broken poses
(knees bending backwards, heads spinning) rather than unusual ones. Left and
right limits are mirror images (x kept, y and z negated and swapped).
"""

from __future__ import annotations

import numpy as np

from ..body.skeleton import JOINT_NAMES, NUM_JOINTS

_INF = 180.0
# (min, max) per axis-angle component x, y, z for left-side / central joints.
_LEFT_OR_CENTRE = {
    "pelvis": ((-_INF, _INF), (-_INF, _INF), (-_INF, _INF)),   # the root is free
    "left_hip": ((-135, 45), (-60, 60), (-45, 75)),            # flexion is -x (thigh forward)
    "spine1": ((-30, 45), (-35, 35), (-30, 30)),
    "left_knee": ((-5, 160), (-25, 25), (-15, 15)),            # knee flexes +x only
    "spine2": ((-30, 45), (-35, 35), (-30, 30)),
    "left_ankle": ((-50, 55), (-35, 35), (-35, 35)),
    "spine3": ((-30, 45), (-35, 35), (-30, 30)),
    "left_foot": ((-60, 40), (-20, 20), (-20, 20)),
    "neck": ((-50, 60), (-70, 70), (-45, 45)),
    "left_collar": ((-30, 30), (-30, 30), (-25, 40)),
    "head": ((-50, 60), (-70, 70), (-45, 45)),
    "left_shoulder": ((-130, 130), (-135, 135), (-110, 110)),
    "left_elbow": ((-90, 90), (-160, 10), (-40, 40)),         # elbow flexes -y on the left
    "left_wrist": ((-90, 90), (-70, 70), (-90, 90)),
    "left_hand": ((-60, 60), (-40, 40), (-60, 60)),
}


def _build():
    lo = np.zeros((NUM_JOINTS, 3))
    hi = np.zeros((NUM_JOINTS, 3))
    for j, name in enumerate(JOINT_NAMES):
        if name.startswith("right_"):
            (xl, xh), (yl, yh), (zl, zh) = _LEFT_OR_CENTRE["left_" + name[6:]]
            lim = ((xl, xh), (-yh, -yl), (-zh, -zl))
        else:
            lim = _LEFT_OR_CENTRE[name]
        lo[j] = [a for a, _ in lim]
        hi[j] = [b for _, b in lim]
    return lo, hi


LIMITS_LO_DEG, LIMITS_HI_DEG = _build()


def limit_violations(poses: np.ndarray, tol_deg: float = 0.0) -> np.ndarray:
    """(T,24) bool: which local rotations leave their range (poses: (T,24,3) axis-angle, radians)."""
    deg = np.degrees(np.asarray(poses, dtype=np.float64))
    return np.any((deg < LIMITS_LO_DEG - tol_deg) | (deg > LIMITS_HI_DEG + tol_deg), axis=-1)


def violation_ratio(poses: np.ndarray, tol_deg: float = 0.0) -> float:
    """Fraction of (frame, joint) rotations outside their limits."""
    return float(limit_violations(poses, tol_deg).mean())
