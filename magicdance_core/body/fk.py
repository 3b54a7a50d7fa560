"""Forward kinematics on the SMPL skeleton, batched, numpy or torch."""

from __future__ import annotations

import numpy as np

from .rotations import _is_torch, axis_angle_to_matrix
from .skeleton import NUM_JOINTS, PARENTS, REST_OFFSETS


def forward_kinematics_matrices(local_rot, trans, offsets=None):
    """World joint positions and rotations from local rotation matrices.

    local_rot: (...,24,3,3) local (parent-relative) rotations; trans: (...,3)
    pelvis position; offsets: (24,3) or (...,24,3) rest offsets from the parent
    (default: the project's skeleton). Returns (positions (...,24,3), global
    rotations (...,24,3,3)). Works for numpy arrays and torch tensors.
    """
    torch_mode = _is_torch(local_rot)
    if offsets is None:
        offsets = REST_OFFSETS
    if torch_mode:
        import torch

        offsets = torch.as_tensor(offsets, dtype=local_rot.dtype, device=local_rot.device)
    else:
        offsets = np.asarray(offsets, dtype=np.float64)
    glob_r = [None] * NUM_JOINTS
    glob_p = [None] * NUM_JOINTS
    for j in range(NUM_JOINTS):
        p = PARENTS[j]
        if p < 0:
            glob_r[j] = local_rot[..., j, :, :]
            glob_p[j] = trans + 0 * offsets[..., j, :]  # broadcast trans to the batch shape
        else:
            glob_r[j] = glob_r[p] @ local_rot[..., j, :, :]
            glob_p[j] = glob_p[p] + (glob_r[p] @ offsets[..., j, :, None])[..., 0]
    if torch_mode:
        import torch

        return torch.stack(glob_p, dim=-2), torch.stack(glob_r, dim=-3)
    return np.stack(glob_p, axis=-2), np.stack(glob_r, axis=-3)


def forward_kinematics(poses, trans, offsets=None):
    """World joint positions (...,24,3) from axis-angle poses (...,24,3) and trans (...,3)."""
    pos, _ = forward_kinematics_matrices(axis_angle_to_matrix(poses), trans, offsets)
    return pos
