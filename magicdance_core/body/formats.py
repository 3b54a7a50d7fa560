"""Read and write any motion format by file extension (what ``magicdance convert`` uses).

Inputs: ``.npz`` (ours), ``.pkl`` (AIST++ motion, or EDGE output when it holds
``full_pose`` or when asked), ``.bvh``. Outputs: ``.npz``, ``.pkl`` (AIST++
layout), ``.bvh``. EDGE pickles are read only: EDGE writes them, we don't.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from .. import FPS
from ..errors import BadInput
from ..fileio import PathLike, require_file
from ..safe_pickle import safe_load
from .motion_file import Motion, load_motion, save_motion

READ_EXTS = (".npz", ".pkl", ".bvh")
WRITE_EXTS = (".npz", ".pkl", ".bvh")
PKL_KINDS = ("auto", "aist", "edge")


def check_extension(path: PathLike, allowed, verb: str) -> str:
    ext = Path(path).suffix.lower()
    if ext not in allowed:
        raise BadInput(f"cannot {verb} '{ext or Path(path).name}' files: use one of {', '.join(allowed)}")
    return ext


def read_motion_any(path: PathLike, *, pkl_kind: str = "auto", smpl=None, ground: bool = True,
                    bvh_units: Optional[str] = None) -> Motion:
    """Read a motion in any supported format; ``smpl`` is an optional SmplModel for proportions."""
    ext = check_extension(path, READ_EXTS, "read")
    p = require_file(path, "motion file")
    offsets = None if smpl is None else smpl.offsets
    if ext == ".npz":
        m = load_motion(p)
        if smpl is not None:
            m.recompute_joints(offsets)
    elif ext == ".bvh":
        from .bvh import read_bvh

        m = read_bvh(p, units=bvh_units)
    else:
        if pkl_kind not in PKL_KINDS:
            raise BadInput(f"unknown pickle kind {pkl_kind!r}: use {', '.join(PKL_KINDS)}")
        d = safe_load(p, what="motion pickle")
        if not isinstance(d, dict):
            raise BadInput(f"motion pickle {p} does not hold a dict (got {type(d).__name__})")
        kind = pkl_kind
        if kind == "auto":
            kind = "edge" if "full_pose" in d else "aist"
        if kind == "edge":
            from .edge_io import motion_from_edge_dict

            m = motion_from_edge_dict(d, what=f"EDGE output {p}", offsets=offsets, ground=ground)
        else:
            from .aist import motion_from_aist_dict

            m = motion_from_aist_dict(d, what=f"AIST++ motion {p}", offsets=offsets, ground=ground,
                                      pelvis_offset=None if smpl is None else smpl.pelvis_offset)
        m.meta["source_file"] = p.name
    if smpl is not None:
        m.betas = np.asarray(smpl.betas, dtype=np.float32)
        m.meta["smpl_model"] = Path(smpl.path).name
    return m


def write_motion_any(motion: Motion, path: PathLike, *, fps: float = FPS, smpl=None,
                     bvh_units: str = "cm", bvh_order: str = "ZXY") -> Path:
    """Write ``motion`` by the extension of ``path`` (atomically). ``fps`` applies to AIST++ .pkl."""
    ext = check_extension(path, WRITE_EXTS, "write")
    try:
        return _write(motion, path, ext, fps, smpl, bvh_units, bvh_order)
    except (PermissionError, IsADirectoryError, NotADirectoryError, FileExistsError) as e:
        raise BadInput(f"cannot write {path}: {e.strerror or e.__class__.__name__}") from None


def _write(motion, path, ext, fps, smpl, bvh_units, bvh_order) -> Path:
    if ext == ".npz":
        return save_motion(motion, path)
    if ext == ".bvh":
        from .bvh import write_bvh

        return write_bvh(motion, path, units=bvh_units, order=bvh_order,
                         offsets=None if smpl is None else smpl.offsets)
    from .aist import write_aist

    return write_aist(motion, path, fps=fps, pelvis_offset=None if smpl is None else smpl.pelvis_offset)
