"""Retargeting math and bone mapping (no bpy): magicdance_core.retarget."""

from __future__ import annotations

import json

import numpy as np
import pytest

from magicdance_core.body import skeleton
from magicdance_core.body.fk import forward_kinematics
from magicdance_core.body.motion_file import Motion
from magicdance_core.body.rotations import axis_angle_to_matrix
from magicdance_core.errors import BadInput
from magicdance_core.retarget import bone_names, solve

MIXAMO = {"pelvis": "Hips", "left_hip": "LeftUpLeg", "right_hip": "RightUpLeg", "spine1": "Spine",
          "left_knee": "LeftLeg", "right_knee": "RightLeg", "spine2": "Spine1", "left_ankle": "LeftFoot",
          "right_ankle": "RightFoot", "spine3": "Spine2", "left_foot": "LeftToeBase",
          "right_foot": "RightToeBase", "neck": "Neck", "left_collar": "LeftShoulder",
          "right_collar": "RightShoulder", "head": "Head", "left_shoulder": "LeftArm",
          "right_shoulder": "RightArm", "left_elbow": "LeftForeArm", "right_elbow": "RightForeArm",
          "left_wrist": "LeftHand", "right_wrist": "RightHand"}
FINGERS = [f"mixamorig:{s}Hand{f}{i}" for s in ("Left", "Right") for f in ("Index", "Thumb") for i in (1, 2, 3)]


# ------------------------------------------------------------------ bone names
def test_mixamo_names_with_namespace_map_all_joints_and_leave_fingers():
    names = ["mixamorig:" + n for n in MIXAMO.values()] + FINGERS + ["mixamorig:HeadTop_End"]
    mapping, scheme, unmapped = bone_names.auto_map(names)
    assert scheme == "mixamo" and unmapped == []
    assert mapping == {j: "mixamorig:" + b for j, b in MIXAMO.items()}
    assert not any("Hand" in b and b[-1].isdigit() for b in mapping.values())   # fingers untouched


@pytest.mark.parametrize("names, scheme, checks", [
    (["Hips", "LHipJoint", "LeftUpLeg", "LeftLeg", "LeftFoot", "LeftToeBase", "LowerBack", "Spine", "Spine1",
      "Neck", "Neck1", "Head", "LeftShoulder", "LeftArm", "LeftForeArm", "LeftHand", "LThumb"],
     "cmu", {"spine1": "LowerBack", "spine3": "Spine1", "left_hip": "LeftUpLeg"}),
    (["root", "pelvis", "spine_01", "spine_02", "spine_03", "spine_04", "spine_05", "neck_01", "head",
      "thigh_l", "calf_l", "foot_l", "ball_l", "clavicle_l", "upperarm_l", "lowerarm_l", "hand_l"],
     "unreal5", {"spine3": "spine_05", "left_knee": "calf_l", "left_foot": "ball_l"}),
    (["root", "spine05", "spine04", "spine03", "spine02", "spine01", "neck01", "head", "upperleg01.L",
      "upperleg02.L", "lowerleg01.L", "foot.L", "toe1-1.L", "clavicle.L", "upperarm01.L", "lowerarm01.L",
      "wrist.L"], "makehuman", {"pelvis": "root", "left_wrist": "wrist.L"}),
    (["root", "torso", "hips", "chest", "spine_fk", "spine_fk.001", "spine_fk.002", "spine_fk.003", "neck",
      "head", "thigh_fk.L", "shin_fk.L", "foot_fk.L", "toe_fk.L", "thigh_ik.L", "DEF-thigh.L", "shoulder.L",
      "upper_arm_fk.L", "forearm_fk.L", "hand_fk.L", "DEF-upper_arm.L"],
     "rigify", {"left_hip": "thigh_fk.L", "pelvis": "torso", "left_shoulder": "upper_arm_fk.L"}),
])
def test_known_schemes(names, scheme, checks):
    mapping, got, _ = bone_names.auto_map(names)
    assert got == scheme
    for j, b in checks.items():
        assert mapping[j] == b


def test_fuzzy_fallback_maps_a_3ds_max_biped():
    names = ["Bip01", "Bip01 Pelvis", "Bip01 Spine", "Bip01 Spine1", "Bip01 Spine2", "Bip01 Neck", "Bip01 Head",
             "Bip01 L Clavicle", "Bip01 L UpperArm", "Bip01 L Forearm", "Bip01 L Hand", "Bip01 L Finger0",
             "Bip01 R Clavicle", "Bip01 R UpperArm", "Bip01 R Forearm", "Bip01 R Hand",
             "Bip01 L Thigh", "Bip01 L Calf", "Bip01 L Foot", "Bip01 L Toe0",
             "Bip01 R Thigh", "Bip01 R Calf", "Bip01 R Foot", "Bip01 R Toe0"]
    depth = {n: i for i, n in enumerate(names)}   # listed root first
    mapping, scheme, unmapped = bone_names.auto_map(names, depth)
    assert scheme == "fuzzy" and unmapped == []
    assert mapping["pelvis"] == "Bip01 Pelvis"
    assert mapping["left_collar"] == "Bip01 L Clavicle" and mapping["left_shoulder"] == "Bip01 L UpperArm"
    assert mapping["left_elbow"] == "Bip01 L Forearm" and mapping["left_wrist"] == "Bip01 L Hand"
    assert mapping["right_hip"] == "Bip01 R Thigh" and mapping["right_knee"] == "Bip01 R Calf"
    assert mapping["right_ankle"] == "Bip01 R Foot" and mapping["right_foot"] == "Bip01 R Toe0"
    assert [mapping[s] for s in ("spine1", "spine2", "spine3")] == ["Bip01 Spine", "Bip01 Spine1", "Bip01 Spine2"]


def test_unmappable_bones_are_named():
    mapping, _s, unmapped = bone_names.auto_map(["Hips", "Spine", "Head", "LeftUpLeg", "LeftLeg", "LeftFoot",
                                                 "RightUpLeg", "RightLeg", "RightFoot"])
    assert "left_shoulder" in unmapped and "right_wrist" in unmapped and "left_hip" not in unmapped


def test_preset_round_trip_and_bad_presets(tmp_path):
    p = tmp_path / "mine.json"
    bone_names.save_preset(p, {**MIXAMO, "left_hand": ""}, scheme="mixamo")
    assert bone_names.load_preset(p) == MIXAMO
    assert not list(tmp_path.glob(".*"))   # no temp file left beside it
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(BadInput, match="not JSON"):
        bone_names.load_preset(bad)
    bad.write_text(json.dumps({"bones": {}}))
    with pytest.raises(BadInput, match="not a MagicDance bone mapping"):
        bone_names.load_preset(bad)
    bad.write_text(json.dumps({"format": bone_names.PRESET_FORMAT, "version": 1, "bones": {"elbow": "X"}}))
    with pytest.raises(BadInput, match="not an SMPL joint: elbow"):
        bone_names.load_preset(bad)
    with pytest.raises(BadInput, match="not found"):
        bone_names.load_preset(tmp_path / "missing.json")


def test_check_mapping_names_missing_and_doubled_bones():
    with pytest.raises(BadInput, match="no bone Hipz"):
        bone_names.check_mapping({"pelvis": "Hipz"}, ["Hips"])
    with pytest.raises(BadInput, match="mapped twice"):
        bone_names.check_mapping({"pelvis": "Hips", "spine1": "Hips"}, ["Hips"])
    with pytest.raises(BadInput, match="pelvis"):
        bone_names.check_mapping({"spine1": "Spine"}, ["Spine"])


# ------------------------------------------------------------------ solve
ZUP = np.array([[1, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 0], [0, 0, 0, 1.0]])   # +90° about X


def _dance(T=60, seed=0, contacts=None):
    rng = np.random.default_rng(seed)
    poses = np.cumsum(rng.normal(0, 0.03, (T, 24, 3)), 0)
    poses[:, [22, 23]] = 0
    trans = np.c_[np.linspace(0, 0.6, T), 0.95 + 0.03 * np.sin(np.arange(T) / 5), np.linspace(0, 0.2, T)]
    return Motion(poses=poses, trans=trans, contacts=np.zeros((T, 4)) if contacts is None else contacts,
                  fps=30.0, meta={})


def _rest_joints():
    return forward_kinematics(np.zeros((1, 24, 3)), np.zeros((1, 3)))[0]


def _rot_z(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


def _mixamo_like(a_pose_deg=40.0, cm=True, seed=1):
    """The SMPL proportions as a Mixamo-style character: A-posed arms, random bone rolls, Y-up data
    in centimetres on an object scaled 0.01 and turned Z-up, standing on the floor, moved aside."""
    rj = _rest_joints()
    pose = np.zeros((1, 24, 3))
    pose[0, 16, 2] = -np.radians(a_pose_deg)    # left arm down (about +Z, SMPL frame)
    pose[0, 17, 2] = np.radians(a_pose_deg)
    rest_pos = forward_kinematics(pose, np.zeros((1, 3)))[0]
    rest_pos[:, 1] -= rest_pos[[7, 8], 1].min() - skeleton.ANKLE_HEIGHT    # feet on the floor
    units = 100.0 if cm else 1.0
    rng = np.random.default_rng(seed)
    names, rest = [], []
    for j, n in enumerate(skeleton.JOINT_NAMES):
        names.append("mixamorig:" + MIXAMO.get(n, n))
        m = np.eye(4)
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))   # arbitrary roll/orientation per bone
        m[:3, :3] = q * np.sign(np.linalg.det(q))
        m[:3, 3] = rest_pos[j] * units
        rest.append(m)
    world = ZUP.copy()
    world[:3, :3] /= units
    world[:3, 3] = [2.0, 1.0, 0.0]
    return solve.TargetRig(names, list(skeleton.PARENTS), np.array(rest), world), rj


def test_identity_rig_gets_the_take_itself():
    rj = _rest_joints()
    rest = np.tile(np.eye(4), (24, 1, 1))
    rest[:, :3, 3] = rj
    rig = solve.TargetRig(list(skeleton.JOINT_NAMES), list(skeleton.PARENTS), rest, ZUP)
    m = _dance()
    mapping, _s, _u = bone_names.auto_map(rig.names)
    r = solve.retarget(m, rj, ZUP, rig, mapping)
    k = [skeleton.JOINT_INDEX[j] for j in r.joints]
    from magicdance_core.body.rotations import quat_to_matrix

    assert np.allclose(quat_to_matrix(r.quats), axis_angle_to_matrix(m.poses[:, k]), atol=1e-9)
    assert np.allclose(r.root_location, m.trans, atol=1e-7)
    assert "left_hand" not in r.joints and "right_hand" not in r.joints


def test_a_pose_rolls_scale_and_axes_are_handled():
    rig, rj = _mixamo_like()
    m = _dance()
    mapping, scheme, _u = bone_names.auto_map(rig.names)
    assert scheme == "mixamo"
    r = solve.retarget(m, rj, ZUP, rig, mapping, foot_plant=False)
    assert abs(r.leg_scale - 1.0) < 1e-9
    err = np.linalg.norm(r.positions_world - r.reference_world, axis=-1)
    assert err.max() < 1e-6    # same proportions: every joint lands where the dancer's does
    # Control: without the rest alignment (A-pose taken as it is), the hands miss by far.
    r0 = solve.retarget(m, rj, ZUP, rig, mapping, foot_plant=False, align_rest=False)
    k = r0.joints.index("left_wrist")
    assert np.linalg.norm(r0.positions_world[:, k] - r0.reference_world[:, k], axis=-1).min() > 0.1


def test_a_posed_character_is_raised_to_the_t_pose_at_rest():
    rig, rj = _mixamo_like(a_pose_deg=45)
    m = _dance(T=1)
    m.poses[:] = 0
    m.trans[:] = [0, rj[0, 1] - rj[[7, 8], 1].min() + skeleton.ANKLE_HEIGHT, 0]
    r = solve.retarget(m, rj, ZUP, rig, bone_names.auto_map(rig.names)[0])
    k = r.joints.index("left_wrist"), r.joints.index("left_shoulder")
    arm = r.positions_world[0, k[0]] - r.positions_world[0, k[1]]
    want = ZUP[:3, :3] @ (rj[20] - rj[16])           # the dancer's T-pose arm, world (Z up)
    assert np.allclose(arm, want, atol=1e-6) and arm[0] > 0.4 and abs(arm[2]) < 0.01


def test_root_motion_scales_with_leg_length():
    rig, rj = _mixamo_like()
    big = solve.TargetRig(rig.names, rig.parents, rig.rest * np.array([1, 1, 1, 1.0]), rig.matrix_world)
    big.rest[:, :3, 3] *= 1.5
    m = _dance()
    mapping = bone_names.auto_map(rig.names)[0]
    r1 = solve.retarget(m, rj, ZUP, rig, mapping, foot_plant=False)
    r2 = solve.retarget(m, rj, ZUP, big, mapping, foot_plant=False)
    assert abs(r2.leg_scale - 1.5) < 1e-6
    k = r1.bones.index(r1.root_bone)
    d1 = r1.positions_world[-1, k] - r1.positions_world[0, k]
    d2 = r2.positions_world[-1, k] - r2.positions_world[0, k]
    assert np.allclose(d2, 1.5 * d1, atol=1e-6)


def test_planted_feet_stay_planted_on_a_longer_legged_character():
    rj = _rest_joints()
    T = 90
    m = _dance(T=T, seed=3)
    # The dancer sways while its left ankle is "in contact" over frames 20-60 (within the leg's reach).
    m.trans[:, 0] = 0.05 * np.sin(np.arange(T) / 6)
    m.trans[:, 1] = solve.source_standing_offset(rj)[1] - 0.06   # knees a little bent
    m.trans[:, 2] = 0.0
    m.poses[:, :, :] *= 0.5
    contacts = np.zeros((T, 4))
    contacts[20:61, 0] = 1
    m.contacts[:] = contacts
    rig, _ = _mixamo_like()
    legs = solve.TargetRig(rig.names, rig.parents, rig.rest.copy(), rig.matrix_world)
    for j in (4, 5, 7, 8, 10, 11):   # longer shins and feet: root motion no longer matches the legs
        legs.rest[j, 1, 3] -= 8.0
    mapping = bone_names.auto_map(rig.names)[0]
    off = solve.retarget(m, rj, ZUP, legs, mapping, foot_plant=False)
    on = solve.retarget(m, rj, ZUP, legs, mapping, foot_plant=True)
    ka = on.bones.index(mapping["left_ankle"])
    planted = on.planted[:, :1]
    slide_off = solve.foot_slide_cm(off.positions_world[:, [ka]], planted)
    slide_on = solve.foot_slide_cm(on.positions_world[:, [ka]], planted)
    assert slide_off["mean"] > 0.5      # the control slides
    assert slide_on["max"] < 0.05       # held: under half a millimetre per frame
    # The foot keeps its world orientation and the upper body is untouched.
    kt = on.bones.index(mapping["spine3"])
    assert np.allclose(on.positions_world[:, kt], off.positions_world[:, kt])


def test_thirty_second_take_solves_fast_enough():
    import time

    rig, rj = _mixamo_like()
    T = 900
    c = np.zeros((T, 4))
    c[::40, 0] = 1
    m = _dance(T=T, contacts=(np.convolve(c[:, 0], np.ones(15), "same") > 0)[:, None] * np.ones((1, 4)))
    t = time.perf_counter()
    r = solve.retarget(m, rj, ZUP, rig, bone_names.auto_map(rig.names)[0])
    assert r.quats.shape == (T, 22, 4)
    assert time.perf_counter() - t < 5.0   # generous on a shared CI core; benchmarks/retarget times it
