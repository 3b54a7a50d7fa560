"""The motion file (``.npz``) of DESIGN.md: read, write, validate.

Keys: ``fps`` (30.0), ``poses`` (T,24,3) axis-angle local rotations, ``trans``
(T,3) pelvis position in metres (Y up), ``joints`` (T,24,3) world joints from the
project's FK, ``contacts`` (T,4) in [0,1] (left ankle, left toe, right ankle,
right toe), optional ``betas`` (10,), and ``meta`` (a JSON string).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from .. import FPS, __version__
from ..errors import BadInput
from ..fileio import PathLike, atomic_path, require_file
from .fk import forward_kinematics
from .skeleton import NUM_JOINTS


@dataclass
class Motion:
    poses: np.ndarray                 # (T,24,3) axis-angle
    trans: np.ndarray                 # (T,3)
    contacts: Optional[np.ndarray] = None  # (T,4)
    joints: Optional[np.ndarray] = None    # (T,24,3); computed by FK when None
    betas: Optional[np.ndarray] = None     # (10,)
    fps: float = FPS
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_fps(self.fps, "motion fps")
        self.fps = float(self.fps)
        self.poses = np.asarray(self.poses, dtype=np.float32)
        self.trans = np.asarray(self.trans, dtype=np.float32)
        validate_arrays(self.poses, self.trans, self.contacts, self.joints, self.betas)
        if self.contacts is None:
            self.contacts = np.zeros((len(self.poses), 4), dtype=np.float32)
        self.contacts = np.asarray(self.contacts, dtype=np.float32)
        if self.joints is None:
            self.joints = forward_kinematics(self.poses.astype(np.float64), self.trans.astype(np.float64)).astype(np.float32)
        self.joints = np.asarray(self.joints, dtype=np.float32)
        if self.betas is not None:
            self.betas = np.asarray(self.betas, dtype=np.float32)

    @property
    def num_frames(self) -> int:
        return int(self.poses.shape[0])

    @property
    def duration_s(self) -> float:
        return self.num_frames / float(self.fps)

    def recompute_joints(self, offsets=None) -> None:
        self.joints = forward_kinematics(self.poses.astype(np.float64), self.trans.astype(np.float64), offsets).astype(np.float32)

    def slice(self, start: int, stop: int) -> "Motion":
        return Motion(self.poses[start:stop], self.trans[start:stop], self.contacts[start:stop],
                      self.joints[start:stop], self.betas, self.fps, dict(self.meta))


# Frame rates a motion may have: every format writes and reads them back (a BVH's frame time has
# 8 decimals), and resampling stays within memory. Dances are 30 fps; mocap up to a few hundred.
MIN_FPS, MAX_FPS = 1.0, 1000.0


def check_fps(fps, what: str = "fps") -> float:
    from ..checks import check_number

    return check_number(fps, what, MIN_FPS, MAX_FPS)


def validate_arrays(poses, trans, contacts=None, joints=None, betas=None) -> None:
    """Raise BadInput unless the arrays have the motion file's shapes and are finite."""
    poses = np.asarray(poses)
    trans = np.asarray(trans)
    if poses.ndim != 3 or poses.shape[1:] != (NUM_JOINTS, 3):
        raise BadInput(f"motion poses must have shape (T,24,3), got {poses.shape}")
    T = poses.shape[0]
    if T < 1:
        raise BadInput("motion has no frames")
    if trans.shape != (T, 3):
        raise BadInput(f"motion trans must have shape ({T},3), got {trans.shape}")
    for name, arr, shape in (("contacts", contacts, (T, 4)), ("joints", joints, (T, NUM_JOINTS, 3)), ("betas", betas, None)):
        if arr is None:
            continue
        arr = np.asarray(arr)
        if shape is not None and arr.shape != shape:
            raise BadInput(f"motion {name} must have shape {shape}, got {arr.shape}")
        if shape is None and arr.ndim != 1:
            raise BadInput(f"motion betas must be a vector, got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise BadInput(f"motion {name} contains NaN or infinite values")
    if not (np.all(np.isfinite(poses)) and np.all(np.isfinite(trans))):
        raise BadInput("motion contains NaN or infinite values")


def save_motion(motion: Motion, path: PathLike) -> Path:
    """Write ``motion`` to ``path`` (.npz) atomically."""
    path = Path(path)
    meta = {"version": __version__, **motion.meta}
    arrays: dict[str, Any] = dict(
        fps=np.float32(motion.fps), poses=motion.poses, trans=motion.trans,
        joints=motion.joints, contacts=motion.contacts, meta=np.array(json.dumps(meta, sort_keys=True)),
    )
    if motion.betas is not None:
        arrays["betas"] = motion.betas
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    return path


def load_motion(path: PathLike) -> Motion:
    """Read and validate a motion ``.npz``; BadInput with one clear line if it is not one."""
    p = require_file(path, "motion file")
    try:
        with np.load(p, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise BadInput(f"not a readable motion .npz: {p} ({e.__class__.__name__})") from None
    missing = [k for k in ("poses", "trans") if k not in data]
    if missing:
        raise BadInput(f"motion file {p} lacks {', '.join(missing)}")
    meta: dict = {}
    if "meta" in data:
        try:
            meta = json.loads(str(data["meta"]))
        except json.JSONDecodeError:
            raise BadInput(f"motion file {p} has a meta entry that is not JSON") from None
    for k in ("poses", "trans", "joints", "contacts", "betas", "fps"):
        if k in data and not (np.issubdtype(data[k].dtype, np.number) or data[k].dtype == np.bool_):
            raise BadInput(f"motion file {p}: '{k}' is not numeric (dtype {data[k].dtype})")
    if "fps" in data and data["fps"].size != 1:
        raise BadInput(f"motion file {p}: 'fps' must be one number")
    c = data.get("contacts")
    if c is not None and np.asarray(c).size and np.isfinite(c).all() and (np.min(c) < -1e-6 or np.max(c) > 1 + 1e-6):
        # Checked on files only: code making a Motion clips its own contacts.
        raise BadInput(f"motion file {p}: contacts must lie in [0,1], found {np.min(c):g}..{np.max(c):g}")
    fps = float(data["fps"]) if "fps" in data else FPS
    if not (np.isfinite(fps) and MIN_FPS <= fps <= MAX_FPS):
        raise BadInput(f"motion file {p} has fps {fps:g}; a motion's fps must be between {MIN_FPS:g} and {MAX_FPS:g}")
    return Motion(poses=data["poses"], trans=data["trans"], contacts=data.get("contacts"),
                  joints=data.get("joints"), betas=data.get("betas"), fps=fps, meta=meta)
