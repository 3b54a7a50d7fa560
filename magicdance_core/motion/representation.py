"""EDGE's 151-number frame and its fitted normaliser.

Layout of one frame (EDGE's order): ``[0:4]`` foot contacts (left ankle, left toe,
right ankle, right toe), ``[4:7]`` root (pelvis) position in metres, ``[7:151]``
24 joints x 6D rotation (pytorch3d layout: first two rows of the matrix), joint j
at ``7 + 6*j : 13 + 6*j``.

The normaliser is EDGE's: a min-max scaler fitted per channel over all frames of
the training set, mapping to [-1, 1]; ``unnormalize`` clips to [-1, 1] first, as
EDGE does, so the sampler can never leave the range seen in training.
"""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from ..body.motion_file import Motion
from ..body.rotations import axis_angle_to_6d, rot6d_to_axis_angle
from ..body.skeleton import JOINT_INDEX, JOINT_NAMES, NUM_JOINTS

FRAME_DIM = 151
CONTACT_SLICE = slice(0, 4)
ROOT_SLICE = slice(4, 7)
ROT_START = 7
WINDOW = 150  # 5 s at 30 fps, EDGE's horizon


def joint_channels(joint) -> np.ndarray:
    """The six channel indices of one joint's 6D rotation (name or index)."""
    j = JOINT_INDEX[joint] if isinstance(joint, str) else int(joint)
    if not 0 <= j < NUM_JOINTS:
        raise ValueError(f"joint index out of range: {j}")
    return np.arange(ROT_START + 6 * j, ROT_START + 6 * j + 6)


def motion_to_features(motion: Motion) -> np.ndarray:
    """Motion -> (T,151) float32 in EDGE's layout."""
    return arrays_to_features(motion.poses, motion.trans, motion.contacts)


def arrays_to_features(poses, trans, contacts=None) -> np.ndarray:
    poses = np.asarray(poses, dtype=np.float64)
    T = poses.shape[0]
    out = np.zeros((T, FRAME_DIM), dtype=np.float64)
    if contacts is not None:
        out[:, CONTACT_SLICE] = np.asarray(contacts, dtype=np.float64)
    out[:, ROOT_SLICE] = np.asarray(trans, dtype=np.float64)
    out[:, ROT_START:] = axis_angle_to_6d(poses).reshape(T, NUM_JOINTS * 6)
    return out.astype(np.float32)


def features_to_arrays(x: np.ndarray):
    """(T,151) -> (poses (T,24,3), trans (T,3), contacts (T,4) clipped to [0,1])."""
    x = np.asarray(x, dtype=np.float64)
    T = x.shape[0]
    poses = rot6d_to_axis_angle(x[:, ROT_START:].reshape(T, NUM_JOINTS, 6))
    return poses, x[:, ROOT_SLICE].copy(), np.clip(x[:, CONTACT_SLICE], 0.0, 1.0)


def features_to_motion(x: np.ndarray, meta: Optional[dict] = None) -> Motion:
    poses, trans, contacts = features_to_arrays(x)
    return Motion(poses=poses, trans=trans, contacts=contacts, meta=dict(meta or {}))


class Normalizer:
    """Per-channel min-max scaling to [-1, 1] (EDGE's MinMaxScaler, clip on the way back)."""

    def __init__(self, data_min: np.ndarray, data_max: np.ndarray) -> None:
        self.data_min = np.asarray(data_min, dtype=np.float32).reshape(-1)
        self.data_max = np.asarray(data_max, dtype=np.float32).reshape(-1)
        rng = (self.data_max - self.data_min).astype(np.float64)
        # Constant channels (sklearn's rule): scale by 1 so they do not blow up.
        rng[rng < 10 * np.finfo(np.float32).eps] = 1.0
        self.scale = (2.0 / rng).astype(np.float32)
        self.offset = (-1.0 - self.data_min * self.scale).astype(np.float32)

    @classmethod
    def fit(cls, data: np.ndarray) -> "Normalizer":
        flat = np.asarray(data, dtype=np.float32).reshape(-1, np.shape(data)[-1])
        return cls(flat.min(axis=0), flat.max(axis=0))

    @property
    def dim(self) -> int:
        return int(self.data_min.shape[0])

    def normalize(self, x):
        if _is_torch(x):
            import torch

            return x * torch.as_tensor(self.scale, dtype=x.dtype, device=x.device) + torch.as_tensor(self.offset, dtype=x.dtype, device=x.device)
        return (np.asarray(x, dtype=np.float32) * self.scale + self.offset).astype(np.float32)

    def unnormalize(self, x, clip: bool = True):
        if _is_torch(x):
            import torch

            if clip:
                x = torch.clamp(x, -1.0, 1.0)
            return (x - torch.as_tensor(self.offset, dtype=x.dtype, device=x.device)) / torch.as_tensor(self.scale, dtype=x.dtype, device=x.device)
        x = np.asarray(x, dtype=np.float64)
        if clip:
            x = np.clip(x, -1.0, 1.0)
        return ((x - self.offset) / self.scale).astype(np.float32)

    def state_dict(self, prefix: str = "normalizer.") -> Dict[str, np.ndarray]:
        return {prefix + "data_min": self.data_min.copy(), prefix + "data_max": self.data_max.copy()}

    @classmethod
    def from_state_dict(cls, sd, prefix: str = "normalizer.") -> "Normalizer":
        mn, mx = sd[prefix + "data_min"], sd[prefix + "data_max"]
        to_np = lambda a: a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a)  # noqa: E731
        return cls(to_np(mn), to_np(mx))


def _is_torch(x) -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    return isinstance(x, torch.Tensor)


UPPER_BODY = tuple(n for n in JOINT_NAMES if n.startswith(("spine", "neck", "head")) or
                   any(k in n for k in ("collar", "shoulder", "elbow", "wrist", "hand")))
LOWER_BODY = tuple(n for n in JOINT_NAMES if any(k in n for k in ("hip", "knee", "ankle", "foot")))
