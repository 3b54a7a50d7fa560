"""EDGE's output pickles: ``smpl_poses`` (T,72), ``smpl_trans`` (T,3), ``full_pose`` (T,24,3).

EDGE works Z up: its data pipeline turns AIST++ (Y up) by +90 deg about X
(root rotation pre-multiplied, root position (x,y,z) -> (x,-z,y)), and its
samples stay in that frame at 30 fps; ``smpl_trans`` is its FK root (the joint
0 position). We turn them back by -90 deg about X. EDGE learned AIST++'s
``transl`` as if it were the pelvis, so its vertical origin is off by the
template's J0; by default the clip is grounded (lowest foot joint on y = 0).
``full_pose`` (EDGE's FK joints with SMPL's template proportions) is checked
for shape only: our joints come from the project's FK.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import BadInput
from ..fileio import PathLike
from ..safe_pickle import safe_load
from .aist import _finish, poses_from_smpl
from .rotations import axis_angle_to_matrix, matrix_to_axis_angle

# Rotation taking EDGE's Z-up frame back to SMPL's Y-up frame: -90 deg about X.
_ZUP_TO_YUP = axis_angle_to_matrix(np.array([-np.pi / 2, 0.0, 0.0]))


def zup_to_yup(poses: np.ndarray, trans: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    poses = np.array(poses, dtype=np.float64)
    poses[:, 0] = matrix_to_axis_angle(_ZUP_TO_YUP @ axis_angle_to_matrix(poses[:, 0]))
    return poses, np.asarray(trans, dtype=np.float64) @ _ZUP_TO_YUP.T


def yup_to_zup(poses: np.ndarray, trans: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EDGE's own conversion (used to make EDGE-frame data, e.g. in tests)."""
    poses = np.array(poses, dtype=np.float64)
    poses[:, 0] = matrix_to_axis_angle(_ZUP_TO_YUP.T @ axis_angle_to_matrix(poses[:, 0]))
    return poses, np.asarray(trans, dtype=np.float64) @ _ZUP_TO_YUP


def motion_from_edge_dict(d, *, what: str = "EDGE output", offsets=None, ground: bool = True):
    if not isinstance(d, dict):
        raise BadInput(f"{what} does not hold a dict (got {type(d).__name__})")
    poses, trans = poses_from_smpl(d, what)
    if "full_pose" in d:
        fp = np.asarray(d["full_pose"])
        if fp.shape != (len(poses), 24, 3):
            raise BadInput(f"{what}: full_pose must have shape ({len(poses)},24,3), got {fp.shape}")
    poses, trans = zup_to_yup(poses, trans)
    return _finish(poses, trans, offsets, ground, {"source": "edge"})


def read_edge(path: PathLike, *, offsets=None, ground: bool = True):
    """Read an EDGE output ``.pkl`` (restricted unpickling) as a 30 fps Motion."""
    d = safe_load(path, what="EDGE output")
    m = motion_from_edge_dict(d, what=f"EDGE output {path}", offsets=offsets, ground=ground)
    m.meta["source_file"] = Path(path).name
    return m
