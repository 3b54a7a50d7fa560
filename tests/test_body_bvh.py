"""BVH export/import; Blender's own BVH importer must reproduce our joints within 1 mm."""

import numpy as np
import pytest

from magicdance_core.body import bvh
from magicdance_core.body.motion_file import Motion
from magicdance_core.body.rotations import axis_angle_to_matrix
from magicdance_core.body.skeleton import JOINT_NAMES, REST_OFFSETS
from magicdance_core.errors import BadInput


def _motion(T=6, seed=0):
    rng = np.random.default_rng(seed)
    poses = rng.normal(size=(T, 24, 3)) * 0.7
    poses[1, 4] = [np.pi / 2, 0, 0]  # gimbal lock of the ZXY decomposition at the left knee
    poses[2, 0] = [0, np.pi - 1e-3, 0]  # nearly turned round
    trans = np.cumsum(rng.normal(size=(T, 3)) * 0.1, 0) + [0, 0.95, 0]
    return Motion(poses, trans)


@pytest.mark.parametrize("units, order", [("cm", "ZXY"), ("m", "XYZ"), ("cm", "YXZ")])
def test_write_read_round_trip(tmp_path, units, order):
    m = _motion()
    f = tmp_path / "m.bvh"
    bvh.write_bvh(m, f, units=units, order=order)
    text = f.read_text()
    assert text.startswith("HIERARCHY\nROOT pelvis") and text.count("End Site") == 5
    assert f"CHANNELS 3 {order[0]}rotation {order[1]}rotation {order[2]}rotation" in text
    back = bvh.read_bvh(f)
    assert back.meta["bvh_units"] == units and back.fps == 30.0
    np.testing.assert_allclose(back.joints, m.joints, atol=1e-5)
    np.testing.assert_allclose(back.trans, m.trans, atol=1e-6)
    np.testing.assert_allclose(axis_angle_to_matrix(back.poses.astype(float)),
                               axis_angle_to_matrix(m.poses.astype(float)), atol=1e-5)


def test_offsets_are_the_skeleton_in_centimetres(tmp_path):
    f = tmp_path / "m.bvh"
    bvh.write_bvh(_motion(3), f)
    lines = f.read_text().splitlines()
    k = lines.index("  JOINT left_hip")
    off = np.array([float(x) for x in lines[k + 2].split()[1:]])  # JOINT, {, OFFSET
    np.testing.assert_allclose(off, REST_OFFSETS[1] * 100, atol=1e-6)


def test_read_resamples_other_frame_rates(tmp_path):
    m = _motion(9)
    m.fps = 60.0
    f = tmp_path / "m60.bvh"
    bvh.write_bvh(m, f)
    assert "Frame Time: 0.01666667" in f.read_text()
    back = bvh.read_bvh(f)
    assert back.fps == 30.0 and back.num_frames == 5
    np.testing.assert_allclose(back.joints, m.joints[::2], atol=1e-5)


@pytest.mark.parametrize("mutate, msg", [
    (lambda t: "hello world\n", "not a BVH"),
    (lambda t: t[: len(t) // 3], "truncated|incomplete"),
    (lambda t: t.rsplit("\n", 3)[0] + "\n", "expected 6 frames"),
    (lambda t: t.replace("JOINT left_knee", "JOINT knee_l"), "lacks SMPL joints: left_knee"),
    (lambda t: t.replace("Frames: 6", "Frames: 0"), "no frames"),
    (lambda t: t.replace("OFFSET 0.000000 0.000000 0.000000", "OFFSET a b c", 1), "number"),
    (lambda t: t.replace("Frame Time: 0.03333333", "Frame Time: 0"), "frame time"),
])
def test_bad_bvh(tmp_path, mutate, msg):
    f = tmp_path / "m.bvh"
    bvh.write_bvh(_motion(), f)
    f.write_text(mutate(f.read_text()))
    with pytest.raises(BadInput, match=msg):
        bvh.read_bvh(f)


def test_bad_bvh_binary_and_empty(tmp_path):
    f = tmp_path / "x.bvh"
    f.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(BadInput):
        bvh.read_bvh(f)
    f.write_bytes(b"")
    with pytest.raises(BadInput, match="empty"):
        bvh.read_bvh(f)


@pytest.mark.blender
@pytest.mark.parametrize("units, order, scale", [("cm", "ZXY", 0.01), ("m", "XYZ", 1.0)])
def test_blender_bvh_importer_reproduces_joints_within_1mm(tmp_path, units, order, scale):
    bpy = pytest.importorskip("bpy")
    from bpy_extras.io_utils import axis_conversion

    m = _motion(8, seed=3)
    f = tmp_path / "dance.bvh"
    bvh.write_bvh(m, f, units=units, order=order)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    # Blender's defaults: BVH is Y up, forward -Z; the importer turns that into Z up.
    assert bpy.ops.import_anim.bvh(filepath=str(f), global_scale=scale, axis_forward="-Z", axis_up="Y",
                                   update_scene_fps=True, update_scene_duration=True) == {"FINISHED"}
    arm = bpy.context.object
    assert arm.type == "ARMATURE" and [b.name for b in arm.data.bones if b.parent is None] == ["pelvis"]
    assert sorted(b.name for b in arm.pose.bones) == sorted(JOINT_NAMES)
    assert bpy.context.scene.render.fps == 30
    conv = np.array(axis_conversion(from_forward="-Z", from_up="Y").to_3x3())
    worst = 0.0
    for t in range(m.num_frames):
        bpy.context.scene.frame_set(t + 1)  # the importer starts at frame 1
        heads = np.array([(arm.matrix_world @ arm.pose.bones[n].head)[:] for n in JOINT_NAMES])
        expect = m.joints[t].astype(np.float64) @ conv.T
        worst = max(worst, float(np.abs(heads - expect).max()))
    assert worst < 1e-3, worst
    # Sanity: Blender's Z is our Y (the pelvis height).
    bpy.context.scene.frame_set(1)
    assert abs((arm.matrix_world @ arm.pose.bones["pelvis"].head).z - m.trans[0, 1]) < 1e-3
