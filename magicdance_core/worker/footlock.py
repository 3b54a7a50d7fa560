"""Foot-lock clean-up: remove horizontal foot skating by moving the root.

While a foot is in contact (contacts > 0.5) its horizontal position should not
move; we measure how far the planted foot joints slide from one frame to the next
and take that slide off the root translation (averaged over the planted joints).
Only the root moves, so the poses (and the animator's keyed rotations) stay as
they are.  A root-level correction, not IK: no well-kept IK library runs here
without Blender, and rotations must stay exactly as generated or keyed.
"""

from __future__ import annotations

import numpy as np

from ..body.fk import forward_kinematics
from ..body.motion_file import Motion
from ..body.skeleton import CONTACT_JOINTS


def foot_lock(motion: Motion, threshold: float = 0.5) -> Motion:
    poses = np.asarray(motion.poses, np.float64)
    trans = np.asarray(motion.trans, np.float64).copy()
    joints = forward_kinematics(poses, trans)
    feet = joints[:, CONTACT_JOINTS]                      # (T,4,3)
    planted = np.asarray(motion.contacts) > threshold     # (T,4)
    both = planted[1:] & planted[:-1]                     # planted on consecutive frames
    slide = feet[1:] - feet[:-1]                          # (T-1,4,3)
    n = both.sum(1, keepdims=True)
    corr = np.where(n > 0, (slide * both[..., None]).sum(1) / np.maximum(n, 1), 0.0)
    corr[:, 1] = 0.0                                      # horizontal only (x, z)
    trans[1:] -= np.cumsum(corr, axis=0)
    meta = dict(motion.meta)
    meta["foot_lock"] = True
    return Motion(motion.poses, trans.astype(np.float32), motion.contacts, None, motion.betas, motion.fps, meta)
