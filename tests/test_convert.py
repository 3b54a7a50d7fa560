"""``magicdance convert``: every format pair we support, and every kind of bad input."""

import os
import pickle

import numpy as np
import pytest

from magicdance_core.body.aist import NEUTRAL_PELVIS_OFFSET
from magicdance_core.body.edge_io import yup_to_zup
from magicdance_core.body.fk import forward_kinematics
from magicdance_core.body.ground import floor_shift
from magicdance_core.body.motion_file import Motion, load_motion, save_motion
from magicdance_core.body.rotations import axis_angle_to_matrix


def _motion(T=20, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(T)[:, None, None] / 30.0
    poses = 0.4 * np.sin(2 * np.pi * rng.uniform(0.5, 2, (1, 24, 3)) * t + rng.uniform(0, 6, (1, 24, 3)))
    trans = np.stack([0.2 * t[:, 0, 0], np.full(T, 0.95), np.zeros(T)], -1)
    m = Motion(poses, trans, meta={"style": "test"})
    m.trans[:, 1] += floor_shift(m.joints)
    m.recompute_joints()
    return m


def _ok(r):
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr


def _same(a, b, atol=1e-5):
    np.testing.assert_allclose(b.joints, a.joints, atol=atol)
    np.testing.assert_allclose(axis_angle_to_matrix(b.poses.astype(float)),
                               axis_angle_to_matrix(a.poses.astype(float)), atol=atol)


@pytest.mark.parametrize("mid", ["m.pkl", "m.bvh"])
def test_npz_round_trips_through_pkl_and_bvh(cli, tmp_path, mid):
    m = _motion()
    src = tmp_path / "in.npz"
    save_motion(m, src)
    _ok(cli("-q", "convert", src, tmp_path / mid))
    _ok(cli("-q", "convert", tmp_path / mid, tmp_path / "back.npz"))
    back = load_motion(tmp_path / "back.npz")
    assert back.fps == 30.0 and back.num_frames == m.num_frames
    _same(m, back)
    np.testing.assert_allclose(back.trans, m.trans, atol=1e-5)


def test_aist_60fps_import_and_60fps_export(cli, tmp_path):
    m = _motion(41)
    pk = tmp_path / "aist.pkl"
    # A real AIST++ file: 60 fps (no fps key), centimetre-ish translation with its scaling.
    from magicdance_core.body.resample import resample_motion_arrays
    p60, t60, _ = resample_motion_arrays(m.poses, m.trans, 30.0, 60.0)
    pk.write_bytes(pickle.dumps({"smpl_poses": p60.reshape(-1, 72), "smpl_trans": (t60 - NEUTRAL_PELVIS_OFFSET) * 95.0,
                                 "smpl_scaling": np.array([95.0]), "smpl_loss": np.array([3.0])}))
    _ok(cli("-q", "convert", pk, tmp_path / "a.npz"))
    back = load_motion(tmp_path / "a.npz")
    assert back.num_frames == 41
    _same(m, back)
    _ok(cli("-q", "convert", tmp_path / "a.npz", tmp_path / "a60.pkl", "--fps", "60"))
    d = pickle.loads((tmp_path / "a60.pkl").read_bytes())
    assert d["smpl_poses"].shape == (81, 72) and float(d["fps"][0]) == 60.0


def test_edge_output_to_bvh_and_npz(cli, tmp_path):
    m = _motion(30, seed=4)
    zp, zt = yup_to_zup(m.poses, m.trans)
    pk = tmp_path / "edge_out.pkl"
    pk.write_bytes(pickle.dumps({"smpl_poses": zp.reshape(-1, 72), "smpl_trans": zt,
                                 "full_pose": forward_kinematics(zp, zt)}))
    _ok(cli("-q", "convert", pk, tmp_path / "e.npz"))
    back = load_motion(tmp_path / "e.npz")
    assert back.meta["source"] == "edge"
    _same(m, back)
    _ok(cli("-q", "convert", pk, tmp_path / "e.bvh"))
    assert (tmp_path / "e.bvh").read_text().startswith("HIERARCHY")


def test_smpl_model_proportions(cli, tmp_path):
    from test_body_smpl_model import _fake_smpl

    data, joints = _fake_smpl()
    np.savez(tmp_path / "SMPL_NEUTRAL.npz", **data)
    src = tmp_path / "in.npz"
    save_motion(_motion(), src)
    _ok(cli("-q", "convert", src, tmp_path / "out.npz", "--smpl", tmp_path, "--betas", "1"))
    out = load_motion(tmp_path / "out.npz")
    assert out.betas is not None and out.betas[0] == 1.0
    leg = np.linalg.norm(out.joints[0, 4] - out.joints[0, 1])  # left hip -> knee
    np.testing.assert_allclose(leg, np.linalg.norm(joints[4] - joints[1]) * 1.1, atol=1e-5)
    r = cli("-q", "convert", src, tmp_path / "o2.npz", "--smpl", tmp_path / "nowhere")
    assert r.returncode == 2 and r.stderr.startswith("error: SMPL model not found")


def _write_bad(kind, f, tmp_path):
    good = _motion(5)
    if kind == "empty":
        f.write_bytes(b"")
    elif kind == "corrupt_npz":
        save_motion(good, f)
        f.write_bytes(f.read_bytes()[:200])
    elif kind == "text_npz":
        f.write_text("poses,trans\n1,2\n")
    elif kind == "shape_npz":
        np.savez(f, poses=np.zeros((5, 23, 3)), trans=np.zeros((5, 3)))
    elif kind == "trans_npz":
        np.savez(f, poses=np.zeros((5, 24, 3)), trans=np.zeros((4, 3)))
    elif kind == "nan_npz":
        np.savez(f, poses=np.full((5, 24, 3), np.nan), trans=np.zeros((5, 3)))
    elif kind == "object_npz":
        np.savez(f, poses=np.array([{"a": 1}], dtype=object), trans=np.zeros((1, 3)))
    elif kind == "shape_pkl":
        f.write_bytes(pickle.dumps({"smpl_poses": np.zeros((5, 69)), "smpl_trans": np.zeros((5, 3))}))
    elif kind == "text_pkl":
        f.write_text("this is not a pickle\n")
    elif kind == "truncated_pkl":
        f.write_bytes(pickle.dumps({"smpl_poses": np.zeros((50, 72)), "smpl_trans": np.zeros((50, 3))})[:300])
    elif kind == "list_pkl":
        f.write_bytes(pickle.dumps([1, 2, 3]))
    elif kind == "bvh_garbage":
        f.write_text("HIERARCHY\nROOT pelvis\n{\n OFFSET 0 0")
    elif kind == "unknown_ext":
        f.write_text("hello")


BAD = [("empty", "in.npz"), ("corrupt_npz", "in.npz"), ("text_npz", "in.npz"), ("shape_npz", "in.npz"),
       ("trans_npz", "in.npz"), ("nan_npz", "in.npz"), ("object_npz", "in.npz"), ("shape_pkl", "in.pkl"),
       ("text_pkl", "in.pkl"), ("truncated_pkl", "in.pkl"), ("list_pkl", "in.pkl"), ("bvh_garbage", "in.bvh"),
       ("unknown_ext", "in.fbx")]


CASES = [(k, n, "out.npz") for k, n in BAD] + [
    ("empty", "in.npz", "out.bvh"), ("shape_npz", "in.npz", "out.pkl"), ("text_pkl", "in.pkl", "out.bvh")]


@pytest.mark.parametrize("kind, name, out", CASES)
def test_bad_input_is_one_error_line_exit_2_no_output(cli, tmp_path, kind, name, out):
    f = tmp_path / name
    _write_bad(kind, f, tmp_path)
    r = cli("convert", f, tmp_path / out)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no output, no temp file


def test_missing_input_and_unknown_output_extension(cli, tmp_path):
    r = cli("convert", tmp_path / "nope.npz", tmp_path / "o.npz")
    assert r.returncode == 2 and r.stderr.strip() == f"error: IN: motion file not found: {tmp_path / 'nope.npz'}"
    save_motion(_motion(3), tmp_path / "in.npz")
    r = cli("convert", tmp_path / "in.npz", tmp_path / "o.fbx")
    assert r.returncode == 2 and "cannot write '.fbx'" in r.stderr
    (tmp_path / "ro").mkdir(mode=0o500)
    r = cli("convert", tmp_path / "in.npz", tmp_path / "ro" / "o.bvh")
    if os.geteuid() != 0:  # root may write anywhere
        assert r.returncode == 2 and r.stderr.startswith("error: OUT: cannot write")
    r = cli("convert", tmp_path / "in.npz", tmp_path / "in.npz" / "o.bvh")  # parent is a file
    assert r.returncode == 2 and r.stderr.startswith("error: OUT: cannot write"), r.stderr
    (tmp_path / "ro").chmod(0o700)
    for p in (tmp_path / "ro").iterdir():
        p.unlink()
    (tmp_path / "ro").rmdir()
    r = cli("convert", tmp_path / "in.npz", tmp_path / "o.pkl", "--fps", "0")
    assert r.returncode == 2 and "--fps" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.npz"]


def test_malicious_pickle_does_not_run(cli, tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    f = tmp_path / "dance.pkl"
    f.write_bytes(pickle.dumps({"smpl_poses": Evil(), "smpl_trans": np.zeros((1, 3))}))
    r = cli("convert", f, tmp_path / "out.npz")
    assert r.returncode == 2
    assert r.stderr.startswith("error: refused to read motion pickle") and "system" in r.stderr
    assert not marker.exists() and not (tmp_path / "out.npz").exists()
