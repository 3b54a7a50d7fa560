"""Floor placement and foot-contact labels for imported motions."""

from __future__ import annotations

import numpy as np

from .skeleton import CONTACT_HEIGHTS, CONTACT_JOINTS


def floor_shift(joints: np.ndarray) -> float:
    """Vertical shift that puts the lowest foot joint of the clip at its resting height.

    Ankles rest ANKLE_HEIGHT and toes TOE_HEIGHT above the sole; the clip's lowest
    (joint height - resting height) over all frames is moved to y = 0.
    """
    feet = np.asarray(joints)[:, CONTACT_JOINTS, 1] - np.asarray(CONTACT_HEIGHTS)[None, :]
    return float(-feet.min())


def estimate_contacts(joints: np.ndarray, fps: float, speed=0.3, height=0.08) -> np.ndarray:
    """(T,4) contact labels for left ankle, left toe, right ankle, right toe.

    A foot joint is in contact when it moves slower than ``speed`` m/s (EDGE's rule,
    0.01 m per frame at 30 fps) and is within ``height`` m of its resting height,
    so a foot held still in the air does not count.
    """
    feet = np.asarray(joints, dtype=np.float64)[:, CONTACT_JOINTS]
    vel = np.zeros(feet.shape[:2])
    if len(feet) > 1:
        vel[:-1] = np.linalg.norm(feet[1:] - feet[:-1], axis=-1) * fps
        vel[-1] = vel[-2]
    low = feet[..., 1] - np.asarray(CONTACT_HEIGHTS)[None, :] < height
    return ((vel < speed) & low).astype(np.float32)
