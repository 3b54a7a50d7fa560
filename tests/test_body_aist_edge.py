"""AIST++ .pkl import/export and EDGE output pickles."""

import os
import pickle

import numpy as np
import pytest

from magicdance_core.body import aist, edge_io
from magicdance_core.body.fk import forward_kinematics
from magicdance_core.body.ground import estimate_contacts, floor_shift
from magicdance_core.body.motion_file import Motion
from magicdance_core.body.resample import resample_motion_arrays, slerp
from magicdance_core.body.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from magicdance_core.body.skeleton import CONTACT_HEIGHTS, CONTACT_JOINTS
from magicdance_core.errors import BadInput


def _dance(T, fps, seed=0):
    """A smooth synthetic dance: sinusoidal joint rotations, a drifting, bobbing root."""
    rng = np.random.default_rng(seed)
    t = np.arange(T)[:, None, None] / fps
    amp = rng.uniform(0.05, 0.5, (1, 24, 3))
    freq = rng.uniform(0.3, 2.0, (1, 24, 3))
    poses = amp * np.sin(2 * np.pi * freq * t + rng.uniform(0, 6, (1, 24, 3)))
    poses[:, 0] += [0.0, 1.0, 0.0]  # turned about Y
    tt = t[:, 0, 0]
    trans = np.stack([0.3 * np.sin(tt), 0.95 + 0.05 * np.sin(4 * tt), 0.2 * tt], -1)
    return poses, trans


def _lowest_foot(joints):
    return (joints[:, CONTACT_JOINTS, 1] - np.array(CONTACT_HEIGHTS)).min()


def test_aist_import_divides_scaling_adds_pelvis_offset_halves_rate_and_grounds(tmp_path):
    poses, transl_m = _dance(121, 60.0)
    scale = 93.7
    f = tmp_path / "gBR_sBM_cAll_d04_mBR0_ch01.pkl"
    f.write_bytes(pickle.dumps({"smpl_poses": poses.reshape(-1, 72), "smpl_trans": transl_m * scale,
                                "smpl_scaling": np.array([scale]), "smpl_loss": np.array([1.2])}))
    m = aist.read_aist(f)
    assert m.fps == 30.0 and m.num_frames == 61
    np.testing.assert_allclose(m.poses, poses[::2], atol=1e-6)
    expect = transl_m[::2] + aist.NEUTRAL_PELVIS_OFFSET
    np.testing.assert_allclose(m.trans[:, [0, 2]], expect[:, [0, 2]], atol=1e-5)
    dy = m.trans[:, 1] - expect[:, 1]
    assert np.ptp(dy) < 1e-5  # one constant vertical shift...
    assert abs(_lowest_foot(m.joints)) < 1e-5  # ...that puts the lowest foot on the floor
    np.testing.assert_allclose(m.joints, forward_kinematics(m.poses.astype(float), m.trans.astype(float)), atol=1e-5)
    assert m.contacts.shape == (61, 4) and set(np.unique(m.contacts)) <= {0.0, 1.0}
    assert m.meta["source"] == "aist++" and m.meta["source_fps"] == 60.0


def test_aist_export_import_round_trip_and_60fps(tmp_path):
    poses, trans = _dance(40, 30.0, seed=1)
    m = Motion(poses, trans)
    m.trans[:, 1] += floor_shift(m.joints)
    m.recompute_joints()
    out = tmp_path / "a.pkl"
    aist.write_aist(m, out)
    raw = pickle.loads(out.read_bytes())
    assert set(raw) >= {"smpl_poses", "smpl_trans", "smpl_scaling"} and raw["smpl_poses"].shape == (40, 72)
    assert float(raw["fps"][0]) == 30.0
    back = aist.read_aist(out)
    np.testing.assert_allclose(back.poses, m.poses, atol=1e-6)
    np.testing.assert_allclose(back.trans, m.trans, atol=1e-5)
    np.testing.assert_allclose(back.joints, m.joints, atol=1e-5)

    out60 = tmp_path / "a60.pkl"
    aist.write_aist(m, out60, fps=60)
    raw60 = pickle.loads(out60.read_bytes())
    assert raw60["smpl_poses"].shape == (79, 72) and float(raw60["fps"][0]) == 60.0
    # Even frames are the originals; odd ones lie between their neighbours.
    np.testing.assert_allclose(raw60["smpl_poses"][::2].reshape(-1, 24, 3), m.poses, atol=1e-5)
    back60 = aist.read_aist(out60)
    np.testing.assert_allclose(back60.poses, m.poses, atol=1e-5)


def test_slerp_and_fractional_resampling():
    # Rotations about one axis: slerp at t is the angle interpolated linearly.
    poses = np.zeros((3, 24, 3))
    poses[:, 5, 2] = [0.0, 1.0, 2.0]
    trans = np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0.0]])
    p, tr, _ = resample_motion_arrays(poses, trans, 30.0, 75.0)  # 2.5x
    assert len(p) == 6
    np.testing.assert_allclose(p[:, 5, 2], np.arange(6) * 0.4, atol=1e-9)
    np.testing.assert_allclose(tr[:, 0], np.arange(6) * 0.4, atol=1e-12)
    q0, q1 = np.array([1.0, 0, 0, 0]), np.array([0.0, 1, 0, 0])
    np.testing.assert_allclose(slerp(q0, q1, np.array([0.5])), [np.sqrt(.5), np.sqrt(.5), 0, 0], atol=1e-12)
    # Shortest path: -q90 is the same 90 deg rotation, so the midpoint is 45 deg, not 135.
    q90 = np.array([np.cos(np.pi / 4), np.sin(np.pi / 4), 0, 0])
    c, s = np.cos(np.pi / 8), np.sin(np.pi / 8)
    np.testing.assert_allclose(slerp(q0, -q90, np.array([0.5])), [c, s, 0, 0], atol=1e-12)


def test_contacts_rule():
    poses, trans = _dance(30, 30.0)
    j = forward_kinematics(np.zeros((30, 24, 3)), np.tile([0, 0.974, 0.0], (30, 1)))
    assert estimate_contacts(j, 30.0).min() == 1.0  # standing still on the floor
    j2 = j.copy()
    j2[..., 1] += 0.5
    assert estimate_contacts(j2, 30.0).max() == 0.0  # hovering
    j3 = j + np.arange(30)[:, None, None] * np.array([0.05, 0, 0])  # sliding 1.5 m/s
    assert estimate_contacts(j3, 30.0).max() == 0.0


def test_edge_output_is_turned_back_to_y_up(tmp_path):
    poses, trans = _dance(50, 30.0, seed=2)
    m = Motion(poses, trans)
    m.trans[:, 1] += floor_shift(m.joints)
    m.recompute_joints()
    zp, zt = edge_io.yup_to_zup(m.poses, m.trans)
    # EDGE's frame is Z up: the pelvis height is now its z coordinate.
    np.testing.assert_allclose(zt[:, 2], m.trans[:, 1], atol=1e-6)
    full = forward_kinematics(zp, zt)
    f = tmp_path / "edge.pkl"
    f.write_bytes(pickle.dumps({"smpl_poses": zp.reshape(-1, 72).astype(np.float32),
                                "smpl_trans": zt.astype(np.float32), "full_pose": full.astype(np.float32)}))
    back = edge_io.read_edge(f)
    assert back.fps == 30.0 and back.meta["source"] == "edge"
    np.testing.assert_allclose(back.joints, m.joints, atol=2e-5)
    np.testing.assert_allclose(matrix_to_axis_angle(axis_angle_to_matrix(back.poses.astype(float))),
                               matrix_to_axis_angle(axis_angle_to_matrix(m.poses.astype(float))), atol=1e-5)


@pytest.mark.parametrize("payload, msg", [
    ({"smpl_trans": np.zeros((3, 3))}, "lacks 'smpl_poses'"),
    ({"smpl_poses": np.zeros((3, 70)), "smpl_trans": np.zeros((3, 3))}, "shape"),
    ({"smpl_poses": np.zeros((3, 72)), "smpl_trans": np.zeros((4, 3))}, "smpl_trans must have shape"),
    ({"smpl_poses": np.zeros((0, 72)), "smpl_trans": np.zeros((0, 3))}, "no frames"),
    ({"smpl_poses": np.full((3, 72), np.nan), "smpl_trans": np.zeros((3, 3))}, "NaN"),
    ({"smpl_poses": np.zeros((3, 72)), "smpl_trans": np.zeros((3, 3)), "smpl_scaling": np.array([0.0])}, "scaling"),
    ({"smpl_poses": "abc", "smpl_trans": np.zeros((3, 3))}, "numeric"),
    ([1, 2, 3], "dict"),
])
def test_bad_aist_and_edge_pickles(tmp_path, payload, msg):
    f = tmp_path / "bad.pkl"
    f.write_bytes(pickle.dumps(payload))
    readers = (aist.read_aist,) if msg == "scaling" else (aist.read_aist, edge_io.read_edge)
    for reader in readers:
        with pytest.raises(BadInput, match=msg):
            reader(f)


def test_malicious_aist_pickle_does_not_run(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    f = tmp_path / "evil.pkl"
    f.write_bytes(pickle.dumps({"smpl_poses": Evil(), "smpl_trans": np.zeros((1, 3))}))
    with pytest.raises(BadInput, match="system"):
        aist.read_aist(f)
    with pytest.raises(BadInput, match="system"):
        edge_io.read_edge(f)
    assert not marker.exists()
