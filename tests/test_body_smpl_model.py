"""The user's SMPL model through smplx, on a tiny fake model made here (no licensed data)."""

import os
import pickle
import sys
import types

import numpy as np
import pytest
import scipy.sparse as sp

from magicdance_core.body import aist
from magicdance_core.body.fk import forward_kinematics
from magicdance_core.body.skeleton import PARENTS, REST_OFFSETS, rest_joints
from magicdance_core.body.smpl_model import find_model_file, load_smpl_data, load_smpl_model
from magicdance_core.errors import BadInput, MissingModel

J0 = np.array([0.01, -0.2, 0.03])


def _fake_smpl(rng=np.random.default_rng(0)):
    """Two vertices per joint around the wanted joints; J_regressor averages each pair.

    shapedirs[..., 0] grows the body by 10 % per unit beta about the origin, so the
    joints (linear in the vertices) scale the same way.
    """
    joints = rest_joints(REST_OFFSETS * 1.07) + J0
    d = rng.normal(size=(24, 3)) * 0.01
    v = np.concatenate([joints + d, joints - d])        # (48,3)
    jr = np.zeros((24, 48))
    jr[np.arange(24), np.arange(24)] = 0.5
    jr[np.arange(24), np.arange(24) + 24] = 0.5
    w = np.zeros((48, 24))
    w[np.arange(48), np.arange(48) % 24] = 1.0
    shapedirs = np.zeros((48, 3, 10))
    shapedirs[..., 0] = 0.1 * v
    kt = np.stack([np.array([4294967295] + list(PARENTS[1:]), dtype=np.int64), np.arange(24)])
    faces = np.array([[i, (i + 1) % 48, (i + 24) % 48] for i in range(48)], dtype=np.int64)
    return dict(v_template=v, shapedirs=shapedirs, posedirs=np.zeros((48, 3, 207)), J_regressor=jr,
                weights=w, kintree_table=kt, f=faces), joints


def test_npz_model_gives_offsets_and_pelvis(tmp_path):
    data, joints = _fake_smpl()
    np.savez(tmp_path / "SMPL_NEUTRAL.npz", **data)
    m = load_smpl_model(tmp_path)  # a folder works
    np.testing.assert_allclose(m.rest_joints, joints, atol=1e-6)
    np.testing.assert_allclose(m.pelvis_offset, J0, atol=1e-6)
    np.testing.assert_allclose(m.offsets, REST_OFFSETS * 1.07, atol=1e-6)
    # betas change the proportions the way the shape blend says.
    m2 = load_smpl_model(tmp_path / "SMPL_NEUTRAL.npz", betas=[1.0] + [0.0] * 9)
    np.testing.assert_allclose(m2.offsets, REST_OFFSETS * 1.07 * 1.1, atol=1e-6)


def test_smplx_posing_matches_our_fk_and_pelvis_equals_transl_plus_j0(tmp_path):
    data, _ = _fake_smpl()
    np.savez(tmp_path / "SMPL_NEUTRAL.npz", **data)
    m = load_smpl_model(tmp_path, betas=[0.5, 0, 0])
    rng = np.random.default_rng(1)
    poses = rng.normal(size=(4, 24, 3)) * 0.6
    trans = rng.normal(size=(4, 3))
    verts, j = m.pose(poses, trans)
    assert verts.shape == (4, 48, 3)
    # SMPL's own LBS (smplx) and our FK with the model's offsets agree on every joint,
    # and the posed pelvis is our trans: SMPL rotates about J0, then adds transl = trans - J0.
    np.testing.assert_allclose(j, forward_kinematics(poses, trans, m.offsets), atol=2e-5)
    np.testing.assert_allclose(j[:, 0], trans, atol=2e-5)
    # The AIST++ importer with this model's J0 lands on the same pelvis.
    d = {"smpl_poses": poses.reshape(-1, 72), "smpl_trans": (trans - m.pelvis_offset) * 90.0, "smpl_scaling": [90.0], "fps": 30}
    mo = aist.motion_from_aist_dict(d, offsets=m.offsets, pelvis_offset=m.pelvis_offset, ground=False)
    np.testing.assert_allclose(mo.joints, j, atol=5e-5)


def test_official_style_pkl_with_chumpy_and_sparse_is_read_safely(tmp_path):
    data, joints = _fake_smpl()
    # Fake 'chumpy.ch.Ch' (the real one is not needed to write such a pickle).
    ch_mod = types.ModuleType("chumpy.ch")

    class Ch:
        def __init__(self, x):
            self.x = x
    Ch.__module__, Ch.__qualname__ = "chumpy.ch", "Ch"
    ch_mod.Ch = Ch
    saved = {k: sys.modules.get(k) for k in ("chumpy", "chumpy.ch")}
    sys.modules["chumpy"] = types.ModuleType("chumpy")
    sys.modules["chumpy.ch"] = ch_mod
    try:
        pk = dict(data, shapedirs=Ch(data["shapedirs"]), J_regressor=sp.csc_matrix(data["J_regressor"]))
        raw = pickle.dumps(pk, protocol=2)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    assert b"chumpy.ch" in raw and b"csc_matrix" in raw
    f = tmp_path / "basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl"
    f.write_bytes(raw)
    loaded = load_smpl_data(tmp_path)
    np.testing.assert_allclose(loaded["shapedirs"], data["shapedirs"])
    np.testing.assert_allclose(loaded["J_regressor"], data["J_regressor"])
    m = load_smpl_model(f)
    np.testing.assert_allclose(m.rest_joints, joints, atol=1e-6)


def test_malicious_smpl_pickle_refused(tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    data, _ = _fake_smpl()
    f = tmp_path / "SMPL_NEUTRAL.pkl"
    f.write_bytes(pickle.dumps(dict(data, shapedirs=Evil())))
    with pytest.raises(BadInput, match="system"):
        load_smpl_model(f)
    assert not marker.exists()


def test_missing_and_bad_models(tmp_path):
    with pytest.raises(MissingModel):
        find_model_file(None)
    with pytest.raises(MissingModel, match="not found"):
        load_smpl_model(tmp_path / "nope.pkl")
    with pytest.raises(MissingModel, match="SMPL_NEUTRAL"):
        load_smpl_model(tmp_path)  # empty folder
    data, _ = _fake_smpl()
    del data["J_regressor"]
    np.savez(tmp_path / "SMPL_NEUTRAL.npz", **data)
    with pytest.raises(BadInput, match="lacks J_regressor"):
        load_smpl_model(tmp_path)
    (tmp_path / "SMPL_NEUTRAL.npz").write_bytes(b"garbage")
    with pytest.raises(BadInput):
        load_smpl_model(tmp_path)


def test_smpl_body_for_the_addon(tmp_path):
    from magicdance_core.body.smpl_mesh import load_smpl_body

    data, joints = _fake_smpl()
    np.savez(tmp_path / "SMPL_NEUTRAL.npz", **data)
    b = load_smpl_body(tmp_path)
    np.testing.assert_allclose(b.rest_joints[0], 0, atol=1e-6)  # pelvis at the origin
    np.testing.assert_allclose(b.rest_joints, joints - joints[0], atol=1e-6)
    assert b.faces.shape == (48, 3) and b.faces.max() < len(b.vertices)
    assert set(np.unique(b.face_parts)) <= set(range(1, 25))
    assert np.all(b.vertex_parts[b.faces] == b.face_parts[:, None])  # seams split per part
    np.testing.assert_allclose(b.weights.sum(1), 1.0)
    assert b.uv.min() >= 0 and b.uv.max() <= 1


def test_part_labelling_agrees_with_the_builtin_body():
    # The built-in body knows its own DensePose parts; labelling it from skin weights alone
    # must mostly agree (they differ only near joints, where skin blends into the parent).
    from magicdance_core.body.builtin_mesh import build_builtin_body
    from magicdance_core.body.smpl_mesh import label_smpl_mesh

    body = build_builtin_body()
    lab = label_smpl_mesh(body.vertices, body.faces, body.weights, body.rest_joints)
    assert (lab.face_parts == body.face_parts).mean() > 0.8
    assert set(np.unique(lab.face_parts)) == set(range(1, 25))


def test_gender_picks_the_file_in_a_folder(tmp_path):
    data, joints = _fake_smpl()
    np.savez(tmp_path / "SMPL_MALE.npz", **data)
    assert load_smpl_model(tmp_path, gender="male").path.name == "SMPL_MALE.npz"
    with pytest.raises(MissingModel, match="SMPL_NEUTRAL"):
        load_smpl_model(tmp_path)
