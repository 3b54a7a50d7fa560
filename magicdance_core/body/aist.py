"""AIST++ motion pickles (``.pkl``): import and export.

An AIST++ motion file is a pickled dict: ``smpl_poses`` (T,72) axis-angle,
``smpl_trans`` (T,3) and ``smpl_scaling`` (1,), at 60 fps, Y up. The metric
translation is ``smpl_trans / smpl_scaling`` (the AIST++ API and EDGE both divide
this way), and it is SMPL's ``transl`` parameter: the offset of the SMPL *model
origin*, not of the pelvis joint. SMPL rotates the body about the rest pelvis
joint J0 and then adds ``transl``, so the posed pelvis is ``transl + J0`` for any
root orientation. Our ``trans`` is the pelvis, hence ``pelvis = transl + J0``,
with J0 from the user's SMPL model (betas) when given, else the neutral
template's J0 with zero betas (:data:`NEUTRAL_PELVIS_OFFSET`).

On import the clip is resampled to 30 fps (every other frame for 60 fps, slerp
otherwise) and, by default, moved vertically so that its lowest foot joint rests
on the floor y = 0 (AIST++'s own floor height is not that of our skeleton).
Export writes the same keys with ``smpl_scaling`` = 1 (so ``smpl_trans`` is in
metres), plus ``fps`` marking the rate written (30 unless asked otherwise).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Optional

import numpy as np

from .. import FPS
from ..errors import BadInput
from ..fileio import PathLike, atomic_path
from ..safe_pickle import safe_load
from .ground import estimate_contacts, floor_shift
from .fk import forward_kinematics
from .motion_file import Motion
from .resample import resample_motion_arrays
from .skeleton import NUM_JOINTS

AIST_FPS = 60.0
# Rest pelvis joint (J0) of the SMPL neutral template with zero betas, metres, Y up: a
# widely quoted number (the root of SMPL's T-pose joint table); no model data is shipped.
NEUTRAL_PELVIS_OFFSET = np.array([-0.001795, -0.223333, 0.028219])


def _array(d: dict, key: str, what: str) -> np.ndarray:
    if key not in d:
        raise BadInput(f"{what} lacks '{key}' (keys: {', '.join(sorted(map(str, d))) or 'none'})")
    try:
        arr = np.asarray(d[key], dtype=np.float64)
    except (TypeError, ValueError):
        raise BadInput(f"{what}: '{key}' is not a numeric array") from None
    if not np.all(np.isfinite(arr)):
        raise BadInput(f"{what}: '{key}' contains NaN or infinite values")
    return arr


def poses_from_smpl(d: dict, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Validated (T,24,3) poses and (T,3) trans from a dict's smpl_poses/smpl_trans."""
    poses = _array(d, "smpl_poses", what)
    trans = _array(d, "smpl_trans", what)
    if poses.ndim == 2 and poses.shape[1] == NUM_JOINTS * 3:
        poses = poses.reshape(-1, NUM_JOINTS, 3)
    if poses.ndim != 3 or poses.shape[1:] != (NUM_JOINTS, 3):
        raise BadInput(f"{what}: smpl_poses must have shape (T,72) or (T,24,3), got {poses.shape}")
    if len(poses) < 1:
        raise BadInput(f"{what} has no frames")
    if trans.shape != (len(poses), 3):
        raise BadInput(f"{what}: smpl_trans must have shape ({len(poses)},3), got {trans.shape}")
    return poses, trans


def _load_dict(path: PathLike, what: str) -> dict:
    d = safe_load(path, what=what)
    if not isinstance(d, dict):
        raise BadInput(f"{what} {path} does not hold a dict (got {type(d).__name__})")
    return d


def motion_from_aist_dict(d: dict, *, what: str = "AIST++ motion", src_fps: Optional[float] = None,
                          offsets=None, pelvis_offset=None, ground: bool = True) -> Motion:
    poses, trans = poses_from_smpl(d, what)
    scaling = _array(d, "smpl_scaling", what).reshape(-1) if "smpl_scaling" in d else np.ones(1)
    if scaling.size != 1 or not scaling[0] > 0:
        raise BadInput(f"{what}: smpl_scaling must be one positive number, got {scaling}")
    if src_fps is None:
        src_fps = float(np.asarray(d["fps"]).reshape(-1)[0]) if "fps" in d else AIST_FPS
    if not (np.isfinite(src_fps) and src_fps > 0):
        raise BadInput(f"{what}: invalid fps {src_fps}")
    j0 = NEUTRAL_PELVIS_OFFSET if pelvis_offset is None else np.asarray(pelvis_offset, dtype=np.float64)
    pelvis = trans / scaling[0] + j0
    poses, pelvis, _ = resample_motion_arrays(poses, pelvis, src_fps, FPS)
    return _finish(poses, pelvis, offsets, ground, {"source": "aist++", "source_fps": src_fps})


def _finish(poses, pelvis, offsets, ground, meta) -> Motion:
    pelvis = np.array(pelvis, dtype=np.float64)
    joints = forward_kinematics(poses, pelvis, offsets)
    if ground:
        dy = floor_shift(joints)
        pelvis[:, 1] += dy
        joints[..., 1] += dy
    return Motion(poses=poses, trans=pelvis, joints=joints,
                  contacts=estimate_contacts(joints, FPS), fps=FPS, meta=meta)


def read_aist(path: PathLike, **kw) -> Motion:
    """Read an AIST++ motion ``.pkl`` (restricted unpickling) as a 30 fps Motion."""
    what = "AIST++ motion"
    m = motion_from_aist_dict(_load_dict(path, what), what=f"{what} {path}", **kw)
    m.meta["source_file"] = Path(path).name
    return m


def aist_dict_from_motion(motion: Motion, fps: float = FPS, pelvis_offset=None) -> dict:
    if not (np.isfinite(fps) and fps > 0):
        raise BadInput(f"invalid export fps {fps}")
    poses, trans, _ = resample_motion_arrays(motion.poses, motion.trans, float(motion.fps), float(fps))
    j0 = NEUTRAL_PELVIS_OFFSET if pelvis_offset is None else np.asarray(pelvis_offset, dtype=np.float64)
    return {
        "smpl_poses": np.asarray(poses, dtype=np.float32).reshape(-1, NUM_JOINTS * 3),
        "smpl_trans": np.asarray(trans - j0, dtype=np.float32),
        "smpl_scaling": np.array([1.0], dtype=np.float32),
        "smpl_loss": np.array([0.0], dtype=np.float32),
        "fps": np.array([float(fps)], dtype=np.float32),  # not in AIST++ files; they are 60 fps
    }


def write_aist(motion: Motion, path: PathLike, fps: float = FPS, pelvis_offset=None) -> Path:
    """Write ``motion`` as an AIST++-style ``.pkl`` (atomically)."""
    d = aist_dict_from_motion(motion, fps, pelvis_offset)
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(pickle.dumps(d, protocol=4))
    return path
