"""The motion .npz of DESIGN.md: write, read, validate."""

import json

import numpy as np
import pytest

from magicdance_core.body.fk import forward_kinematics
from magicdance_core.body.motion_file import Motion, load_motion, save_motion
from magicdance_core.errors import BadInput


def _m(T=10):
    rng = np.random.default_rng(0)
    return Motion(rng.normal(size=(T, 24, 3)) * 0.3, rng.normal(size=(T, 3)),
                  contacts=rng.uniform(size=(T, 4)), betas=rng.normal(size=10), meta={"seed": 3, "style": "house"})


def test_round_trip_keys_and_types(tmp_path):
    m = _m()
    f = tmp_path / "motion.npz"
    save_motion(m, f)
    with np.load(f, allow_pickle=False) as z:  # readable without pickle
        assert set(z.files) == {"fps", "poses", "trans", "joints", "contacts", "betas", "meta"}
        assert z["poses"].shape == (10, 24, 3) and z["poses"].dtype == np.float32
        meta = json.loads(str(z["meta"]))
    assert meta["seed"] == 3 and "version" in meta
    back = load_motion(f)
    for k in ("poses", "trans", "joints", "contacts", "betas"):
        np.testing.assert_array_equal(getattr(back, k), getattr(m, k))
    assert back.fps == 30.0 and back.meta["style"] == "house"
    np.testing.assert_allclose(back.joints, forward_kinematics(m.poses.astype(float), m.trans.astype(float)), atol=1e-5)
    assert [p.name for p in tmp_path.iterdir()] == ["motion.npz"]


def test_slice_and_duration():
    m = _m(30)
    s = m.slice(5, 20)
    assert s.num_frames == 15 and abs(m.duration_s - 1.0) < 1e-9
    np.testing.assert_array_equal(s.joints, m.joints[5:20])


@pytest.mark.parametrize("arrays, msg", [
    (dict(poses=np.zeros((4, 24, 3))), "lacks trans"),
    (dict(poses=np.zeros((4, 24)), trans=np.zeros((4, 3))), r"\(T,24,3\)"),
    (dict(poses=np.zeros((4, 24, 3)), trans=np.zeros((4, 2))), "trans"),
    (dict(poses=np.zeros((4, 24, 3)), trans=np.zeros((4, 3)), contacts=np.zeros((4, 2))), "contacts"),
    (dict(poses=np.zeros((4, 24, 3)), trans=np.zeros((4, 3)), joints=np.zeros((3, 24, 3))), "joints"),
    (dict(poses=np.zeros((4, 24, 3)), trans=np.zeros((4, 3)), contacts=np.full((4, 4), 2.0)), r"\[0,1\]"),
    (dict(poses=np.full((4, 24, 3), "a"), trans=np.zeros((4, 3))), "not numeric"),
    (dict(poses=np.zeros((4, 24, 3)), trans=np.zeros((4, 3)), contacts=np.full((4, 4), "x")), "not numeric"),
    (dict(poses=np.zeros((4, 24, 3)), trans=np.zeros((4, 3)), fps=np.array([30.0, 60.0])), "one number"),
    (dict(poses=np.zeros((4, 24, 3)), trans=np.full((4, 3), np.inf)), "infinite"),
    (dict(poses=np.zeros((0, 24, 3)), trans=np.zeros((0, 3))), "no frames"),
    (dict(poses=np.zeros((4, 24, 3)), trans=np.zeros((4, 3)), fps=np.float32(-1)), "fps"),
    (dict(poses=np.zeros((4, 24, 3)), trans=np.zeros((4, 3)), meta=np.array("{not json")), "JSON"),
])
def test_invalid_files(tmp_path, arrays, msg):
    f = tmp_path / "bad.npz"
    np.savez(f, **arrays)
    with pytest.raises(BadInput, match=msg):
        load_motion(f)


def test_not_an_npz(tmp_path):
    f = tmp_path / "m.npz"
    f.write_text("hello")
    with pytest.raises(BadInput, match="not a readable"):
        load_motion(f)
    save_motion(_m(), f)
    f.write_bytes(f.read_bytes()[:-100])
    with pytest.raises(BadInput):
        load_motion(f)
