"""Input checks shared by the metrics: one clear BadInput instead of a numpy error."""

from __future__ import annotations

import numpy as np

from ..errors import BadInput


def as_joints(joints, min_frames: int = 1) -> np.ndarray:
    j = np.asarray(joints, dtype=np.float64)
    if j.ndim != 3 or j.shape[2] != 3 or j.shape[1] < 22:
        raise BadInput(f"joints must have shape (T,24,3), got {j.shape}")
    if len(j) < min_frames:
        raise BadInput(f"motion too short for this metric: {len(j)} frames, need {min_frames}")
    if not np.all(np.isfinite(j)):
        raise BadInput("joints contain NaN or infinite values")
    return j


def as_beats(beats_s) -> np.ndarray:
    b = np.asarray(beats_s, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(b)):
        raise BadInput("music beats contain NaN or infinite values")
    return np.sort(b)
