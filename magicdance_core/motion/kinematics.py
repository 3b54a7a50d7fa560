"""Differentiable joint positions and speed curve of 151-number frames (torch).

Shared by the training loss (``train.Losses``: the speed curve matched to the data's) and the
sampler's beat guide (``beat_guide.py``: the speed curve's dips pulled onto the beats), so both
read rhythm the same way.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..body.fk import forward_kinematics_matrices
from ..body.rotations import rot6d_to_matrix
from .representation import ROOT_SLICE, ROT_START


def joint_positions(x: torch.Tensor) -> torch.Tensor:
    """(B,T,151) un-normalised frames -> (B,T,24,3) joint positions in metres."""
    B, T, _ = x.shape
    rot = rot6d_to_matrix(x[..., ROT_START:].reshape(B, T, 24, 6))
    pos, _ = forward_kinematics_matrices(rot, x[..., ROOT_SLICE])
    return pos


def smooth_time(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """(B,T,...) Gaussian-smoothed along T (sigma in frames, edges replicated; 0: unchanged)."""
    if not sigma > 0:
        return x
    r = int(3 * sigma)
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=x.dtype) / sigma) ** 2)
    k = (k / k.sum()).view(1, 1, -1)
    B, T = x.shape[:2]
    rest = x.shape[2:]
    y = x.reshape(B, T, -1).permute(0, 2, 1).reshape(-1, 1, T)
    y = F.conv1d(F.pad(y, (r, r), mode="replicate"), k)
    return y.reshape(B, -1, T).permute(0, 2, 1).reshape(B, T, *rest)


def speed_curve(joints: torch.Tensor, sigma: float = 2.0) -> torch.Tensor:
    """(B,T,J,3) joints -> (B,T-1) mean joint speed (m/frame) after Gaussian smoothing in time.

    Smoothed first: at low noise the skip model's x0 still carries frame-to-frame noise in the
    axes it does not model (removed at sampling by ``smooth``), which would swamp the rhythm."""
    x = smooth_time(joints, sigma)
    return (x[:, 1:] - x[:, :-1]).norm(dim=-1).mean(dim=-1)
