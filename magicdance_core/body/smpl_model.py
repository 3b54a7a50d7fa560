"""The user's SMPL model (licensed files they download): joints and meshes via ``smplx``.

Give a model file (``SMPL_NEUTRAL.npz`` / ``.pkl``, or the original
``basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl``) or a folder holding one, and
optionally 10 betas. From it we take:

* ``rest_joints`` (24,3): the model's joints in the zero pose with those betas,
  and ``offsets`` (24,3) from them, so :func:`forward_kinematics` uses the
  user's proportions;
* ``pelvis_offset`` (3,): the rest pelvis joint J0, the gap between SMPL's
  ``transl`` (model origin) and our ``trans`` (pelvis): ``pelvis = transl + J0``;
* :meth:`SmplModel.pose` for posed vertices.

Pickles are code, so ``.pkl`` model files are read with
:func:`magicdance_core.safe_pickle.safe_load` (never smplx's own ``pickle.load``)
and handed to smplx as a ready ``data_struct``. The official SMPL pickles hold
``shapedirs`` as a chumpy array and ``J_regressor`` as a scipy sparse matrix;
both are rebuilt from their plain-data state by stand-in classes here, so
neither chumpy nor arbitrary scipy code runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import BadInput, MissingModel
from ..fileio import PathLike
from ..safe_pickle import safe_load
from .skeleton import NUM_JOINTS, offsets_from_joints

_CANDIDATES = ("SMPL_{G}.npz", "SMPL_{G}.pkl", "smpl/SMPL_{G}.npz", "smpl/SMPL_{G}.pkl",
               "basicmodel_{g}_lbs_10_207_0_v1.1.0.pkl", "basicModel_{g}_lbs_10_207_0_v1.0.0.pkl",
               "basicmodel_{g0}_lbs_10_207_0_v1.1.0.pkl", "basicModel_{g0}_lbs_10_207_0_v1.0.0.pkl")
_REQUIRED = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")


def find_model_file(path: Optional[PathLike], gender: str = "neutral") -> Path:
    """The SMPL model file at ``path`` (a file, or a folder holding one); MissingModel if none."""
    if path is None or str(path) == "":
        raise MissingModel("no SMPL model given: download SMPL from https://smpl.is.tue.mpg.de "
                           "and name SMPL_NEUTRAL.pkl/.npz or its folder")
    p = Path(path).expanduser()
    if p.is_file():
        return p
    if p.is_dir():
        g = gender.lower()
        for pat in _CANDIDATES:
            c = p / pat.format(G=g.upper(), g=g, g0=g[0])
            if c.is_file():
                return c
        raise MissingModel(f"no SMPL_{g.upper()}.npz or .pkl in {p}")
    raise MissingModel(f"SMPL model not found: {p}")


# ---------------------------------------------------------------- stand-ins for pickled objects
class _Plain:
    """Holds the state a pickle gives an object; knows no code of the real class."""

    def __setstate__(self, state):
        self.state = state


class _ChumpyArray(_Plain):
    def to_array(self):
        st = self.state if isinstance(self.state, dict) else {}
        if isinstance(st.get("x"), np.ndarray):
            return np.asarray(st["x"])
        raise BadInput("the SMPL pickle holds a chumpy expression, not an array; "
                       "convert it with smplx's tools/clean_ch.py or use the .npz model")


class _SparseMatrix(_Plain):
    def to_array(self):
        import scipy.sparse as sp

        st = self.state if isinstance(self.state, dict) else {}
        try:
            shape = tuple(int(n) for n in st["_shape"])
            m = sp.csc_matrix((np.asarray(st["data"]), np.asarray(st["indices"]), np.asarray(st["indptr"])), shape=shape)
        except (KeyError, TypeError, ValueError) as e:
            raise BadInput(f"the SMPL pickle's sparse J_regressor is malformed ({e.__class__.__name__})") from None
        return m.toarray()


def _reconstructor(cls, base, state):
    # copyreg._reconstructor (protocol 0/1 pickles), limited to our stand-ins.
    if cls not in (_ChumpyArray, _SparseMatrix):
        raise BadInput(f"refused to rebuild {cls!r} in an SMPL pickle")
    return object.__new__(cls)


_SMPL_GLOBALS = {
    ("chumpy.ch", "Ch"): _ChumpyArray,
    ("scipy.sparse.csc", "csc_matrix"): _SparseMatrix,
    ("scipy.sparse._csc", "csc_matrix"): _SparseMatrix,
    ("copy_reg", "_reconstructor"): _reconstructor,
    ("copyreg", "_reconstructor"): _reconstructor,
    ("builtins", "object"): object,
    ("__builtin__", "object"): object,
}


def _plain(v):
    return v.to_array() if isinstance(v, (_ChumpyArray, _SparseMatrix)) else v


def load_smpl_data(path: PathLike) -> dict:
    """The model file's arrays as a dict of numpy arrays (safe for .pkl and .npz)."""
    p = find_model_file(path)
    if p.suffix == ".npz":
        try:
            with np.load(p, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
        except ValueError as e:  # object arrays would need pickle: refuse
            raise BadInput(f"SMPL model {p} needs pickled objects, refused ({e})") from None
        except (OSError, EOFError) as e:
            raise BadInput(f"SMPL model {p} is not a readable .npz ({e.__class__.__name__})") from None
    else:
        raw = safe_load(p, what="SMPL model", extra_globals=_SMPL_GLOBALS)
        if not isinstance(raw, dict):
            raise BadInput(f"SMPL model {p} does not hold a dict")
        data = {k: _plain(v) for k, v in raw.items()}
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise BadInput(f"SMPL model {p} lacks {', '.join(missing)}")
    kt = np.asarray(data["kintree_table"])
    if kt.shape != (2, NUM_JOINTS):
        raise BadInput(f"SMPL model {p} has {kt.shape[-1]} joints; the 24-joint SMPL body is needed")
    return data


@dataclass
class SmplModel:
    path: Path
    betas: np.ndarray          # (num_betas,)
    rest_joints: np.ndarray    # (24,3) zero pose, model coordinates (pelvis at J0)
    faces: np.ndarray          # (F,3)
    _layer: object

    @property
    def pelvis_offset(self) -> np.ndarray:
        return self.rest_joints[0].copy()

    @property
    def offsets(self) -> np.ndarray:
        return offsets_from_joints(self.rest_joints)

    def pose(self, poses, trans):
        """Posed (vertices (T,V,3), joints (T,24,3)) for axis-angle poses (T,24,3), pelvis trans (T,3)."""
        import torch

        poses = torch.as_tensor(np.asarray(poses, dtype=np.float32).reshape(-1, NUM_JOINTS * 3))
        transl = np.asarray(trans, dtype=np.float64).reshape(-1, 3) - self.pelvis_offset
        T = poses.shape[0]
        betas = torch.as_tensor(self.betas, dtype=torch.float32)[None].expand(T, -1)
        with torch.no_grad():
            out = self._layer(betas=betas, global_orient=poses[:, :3], body_pose=poses[:, 3:],
                              transl=torch.as_tensor(transl, dtype=torch.float32))
        return out.vertices.numpy(), out.joints[:, :NUM_JOINTS].numpy()


def load_smpl_model(path: PathLike, betas=None, gender: str = "neutral") -> SmplModel:
    """Load the user's SMPL model with ``smplx`` and shape it with ``betas`` (default zeros)."""
    import smplx
    import torch
    from smplx.utils import Struct

    p = find_model_file(path, gender)
    data = load_smpl_data(p)
    num_betas = int(np.asarray(data["shapedirs"]).shape[-1])
    b = np.zeros(min(num_betas, 10)) if betas is None else np.asarray(betas, dtype=np.float64).reshape(-1)
    if b.size > num_betas or not np.all(np.isfinite(b)):
        raise BadInput(f"betas must be at most {num_betas} finite numbers, got {b.size}")
    layer = smplx.SMPL(str(p), data_struct=Struct(**data), num_betas=b.size, batch_size=1)
    # smplx appends face/feet keypoints picked by vertex ids of the full mesh; we use the 24 joints only.
    layer.vertex_joint_selector.extra_joints_idxs = torch.zeros(0, dtype=torch.long)
    layer.eval()
    with torch.no_grad():
        out = layer(betas=torch.as_tensor(b, dtype=torch.float32)[None])
    rest = out.joints[0, :NUM_JOINTS].double().numpy()
    return SmplModel(path=p, betas=b.astype(np.float32), rest_joints=rest,
                     faces=np.asarray(data["f"], dtype=np.int64), _layer=layer)
