"""The Blender add-on, run in Blender-as-a-module (the bpy wheel).

The extension zip is built by build.py, validated by Blender's own validator,
installed with ``bpy.ops.extensions.package_install_files`` into a throw-away
user resource folder and enabled; the tests then drive it through its operators.
bpy is imported once per session; every test starts from
``read_factory_settings(use_empty=True)`` with the extension re-enabled.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if "bpy" not in sys.modules:
    # Keep the extension out of the real user's Blender folders (read when bpy loads).
    os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="md_blender_user_"))

bpy = pytest.importorskip("bpy")
import addon_utils  # noqa: E402  (comes with bpy)

sys.path.insert(0, str(ROOT))
import build  # noqa: E402

from magicdance_core.body import skeleton  # noqa: E402
from magicdance_core.body.builtin_mesh import build_builtin_body, skin  # noqa: E402

pytestmark = pytest.mark.blender
MODULE = "bl_ext.user_default.magicdance"
FPS = 30


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="session")
def ext_zip(tmp_path_factory):
    out = build.build(tmp_path_factory.mktemp("dist"))
    return out


@pytest.fixture(scope="session")
def installed(ext_zip):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    res = bpy.ops.extensions.package_install_files(repo="user_default", filepath=str(ext_zip),
                                                   enable_on_install=True)
    assert res == {"FINISHED"}
    import importlib

    return importlib.import_module(MODULE)


@pytest.fixture
def fresh(installed):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable(MODULE, default_set=True)
    return installed


@pytest.fixture(scope="session")
def song(tmp_path_factory):
    """An 8 s song at 120 BPM: clicks on every beat over a soft tone."""
    import soundfile as sf

    sr = 22050
    dur = 8.0
    t = np.arange(int(sr * dur)) / sr
    y = 0.1 * np.sin(2 * np.pi * 220 * t)
    n = 800
    click = 0.8 * np.exp(-np.arange(n) / 100) * np.sin(2 * np.pi * 1000 * np.arange(n) / sr)
    for b in np.arange(0.0, dur, 0.5):
        i = int(b * sr)
        y[i:i + n] += click[: len(y[i:i + n])]
    path = tmp_path_factory.mktemp("song") / "click120.wav"
    sf.write(path, y.astype(np.float32), sr)
    return str(path)


def _mod(installed, name):
    import importlib

    return importlib.import_module(f"{MODULE}.{name}")


def _scene_with_take(installed, song, seed=3):
    assert bpy.ops.magicdance.import_music(filepath=song) == {"FINISHED"}
    assert bpy.ops.magicdance.add_dancer() == {"FINISHED"}
    bpy.context.scene.magicdance.seed = seed
    assert bpy.ops.magicdance.generate_dance() == {"FINISHED"}
    arm = bpy.data.objects["Dancer"]
    return bpy.context.scene, arm


def _reference_motion(installed, song, seed, generator="model", beat_pulse=0.5, snap_to_beat=False):
    # the scene settings' defaults (props.MagicDanceSceneSettings: generator, snap_to_beat, beat_pulse)
    from magicdance_core.worker.generate import generate_motion

    music = _mod(installed, "music")
    return generate_motion(music.analyze(song), seed=seed, generator=generator, beat_pulse=beat_pulse,
                           snap_to_beat=snap_to_beat)


# ------------------------------------------------------------------ build & install
def test_build_validates_and_bad_manifest_fails(ext_zip, tmp_path):
    ok, text = build.validate(ext_zip)
    assert ok, text
    import zipfile

    names = zipfile.ZipFile(ext_zip).namelist()
    assert "blender_manifest.toml" in names and "operators/__init__.py" in names and "ui/panels.py" in names
    assert not any(n.startswith("magicdance_core") or "torch" in n for n in names)
    # The validator is real: a broken manifest is refused.
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(ext_zip) as zin, zipfile.ZipFile(bad, "w") as zout:
        for n in zin.namelist():
            data = zin.read(n)
            if n == "blender_manifest.toml":
                data = data.replace(b'id = "magicdance"', b'id = "magic dance!"')
            zout.writestr(n, data)
    ok, text = build.validate(bad)
    assert not ok


def test_installed_and_enabled(fresh):
    assert MODULE in bpy.context.preferences.addons
    for op in ("import_music", "add_dancer", "generate_dance", "regenerate", "take_activate", "take_solo",
               "take_duplicate", "take_delete", "take_rename", "takes_flatten", "export_bvh", "export_fbx",
               "cancel_job", "check_environment"):
        assert hasattr(bpy.ops.magicdance, op), op
    assert hasattr(bpy.types.Scene, "magicdance")
    prefs = bpy.context.preferences.addons[MODULE].preferences
    assert hasattr(prefs, "python_path") and hasattr(prefs, "smpl_model_path")


# ------------------------------------------------------------------ music
def test_import_music(fresh, song):
    sc = bpy.context.scene
    assert bpy.ops.magicdance.import_music(filepath=song) == {"FINISHED"}
    music = _mod(fresh, "music")
    a = music.analyze(song)
    assert sc.render.fps == 30 and sc.render.fps_base == 1.0
    assert sc.frame_end - sc.frame_start + 1 == int(np.ceil(a.duration_s * FPS - 1e-6)) == 240
    strip = music.music_strip(sc)
    assert strip is not None and strip.type == "SOUND" and strip.frame_start == sc.frame_start
    assert os.path.samefile(bpy.path.abspath(strip.sound.filepath), song)
    assert sc.use_audio_scrub and sc.sync_mode == "AUDIO_SYNC"
    marks = sorted(m.frame for m in sc.timeline_markers if m.name.startswith("md:"))
    want = sorted(set(int(f) for f in sc.frame_start + np.rint(np.asarray(a.beats_s) * FPS)))
    assert marks == want and len(marks) >= 14
    # The clicks are every 0.5 s: the markers sit on them (within a frame).
    click_frames = sc.frame_start + np.arange(0, 8.0, 0.5) * FPS
    d = np.abs(np.array(marks)[:, None] - click_frames[None]).min(1)
    assert np.all(d <= 1.5)
    assert any(m.name.startswith("md:bar") for m in sc.timeline_markers)
    info = json.loads(sc["md_music"])
    assert abs(info["tempo_bpm"] - 120) < 3 and len(info["beats_s"]) == len(a.beats_s)
    # Markers can be turned off; re-import replaces ours and leaves the user's markers alone.
    sc.timeline_markers.new("mine", frame=5)
    assert bpy.ops.magicdance.import_music(filepath=song, beat_markers=False) == {"FINISHED"}
    assert [m.name for m in sc.timeline_markers] == ["mine"]


def test_bad_input_reports_without_traceback(fresh, tmp_path, capsys):
    sc = bpy.context.scene
    before = (sc.frame_end, len(sc.timeline_markers), sc.get("md_music"))
    bad = tmp_path / "notes.wav"
    bad.write_text("this is not audio")
    for path in (str(tmp_path / "missing.mp3"), str(bad)):
        with pytest.raises(RuntimeError) as e:
            bpy.ops.magicdance.import_music(filepath=path)
        msg = str(e.value)
        assert msg.startswith("Error: ") and msg.strip().count("\n") == 0
        assert "Traceback" not in capsys.readouterr().err
    assert (sc.frame_end, len(sc.timeline_markers), sc.get("md_music")) == before
    # A missing SMPL model file named in the preferences: a report, nothing added.
    prefs = bpy.context.preferences.addons[MODULE].preferences
    prefs.smpl_model_path = str(tmp_path / "SMPL_NEUTRAL.npz")
    with pytest.raises(RuntimeError, match="SMPL model file not found"):
        bpy.ops.magicdance.add_dancer()
    prefs.smpl_model_path = ""
    assert len(bpy.data.objects) == 0 and len(bpy.data.armatures) == 0
    # Operators that cannot run say why (poll message).
    with pytest.raises(RuntimeError, match="import music first"):
        bpy.ops.magicdance.generate_dance()
    with pytest.raises(RuntimeError, match="add a dancer first"):
        bpy.ops.magicdance.take_activate()


# ------------------------------------------------------------------ dancer
def test_dancer_rig_and_body(fresh):
    assert bpy.ops.magicdance.add_dancer() == {"FINISHED"}
    arm = bpy.data.objects["Dancer"]
    assert arm.type == "ARMATURE"
    assert np.allclose(arm.rotation_euler, (np.pi / 2, 0, 0))
    assert sorted(b.name for b in arm.data.bones) == sorted(skeleton.JOINT_NAMES)
    for j, name in enumerate(skeleton.JOINT_NAMES):
        b = arm.data.bones[name]
        p = skeleton.PARENTS[j]
        assert (b.parent.name if b.parent else None) == (skeleton.JOINT_NAMES[p] if p >= 0 else None)
        assert np.allclose(np.array(b.matrix_local)[:3, :3], np.eye(3), atol=1e-6)   # identity rest
        assert np.allclose(b.head_local, skeleton.rest_joints()[j], atol=1e-6)
    assert all(pb.rotation_mode == "QUATERNION" for pb in arm.pose.bones)
    body = bpy.data.objects["Dancer_body"]
    assert body.parent == arm and body.modifiers[0].type == "ARMATURE" and body.modifiers[0].object == arm
    assert len(body.material_slots) == 24
    from magicdance_core.passes.colors import DENSEPOSE_COLORS

    for i, slot in enumerate(body.material_slots):
        assert np.allclose(slot.material.diffuse_color[:3], DENSEPOSE_COLORS[i + 1] / 255.0, atol=1e-6)
    ref = build_builtin_body()
    mats = np.empty(len(body.data.polygons), np.int32)
    body.data.polygons.foreach_get("material_index", mats)
    assert np.array_equal(mats + 1, ref.face_parts)
    assert {g.name for g in body.vertex_groups} == set(skeleton.JOINT_NAMES)


def test_take_keys_equal_motion_and_fk(fresh, song):
    sc, arm = _scene_with_take(fresh, song, seed=3)
    takes = _mod(fresh, "takes")
    dancer = _mod(fresh, "dancer")
    act = takes.active_take(arm)
    m = _reference_motion(fresh, song, seed=3)
    T = m.num_frames
    fcs = takes.take_fcurves(act)
    assert len(fcs) == 24 * 4 + 3 + 4
    assert act.slots and arm.animation_data.action_slot == act.slots[0]
    assert all(len(fc.keyframe_points) == T for fc in fcs.values())
    # Key values equal the motion file's channels (quaternions made continuous).
    want = takes.motion_channels(m)
    for c, (path, idx, _) in enumerate(takes.channel_paths()):
        co = np.empty(T * 2, np.float32)
        fcs[(path, idx)].keyframe_points.foreach_get("co", co)
        co = co.reshape(T, 2)
        assert np.array_equal(co[:, 0], np.arange(T) + sc.frame_start)
        np.testing.assert_allclose(co[:, 1], want[:, c], atol=1e-6)
    q = want[:, :96].reshape(T, 24, 4)
    assert np.all(np.sum(q[1:] * q[:-1], -1) >= 0)    # hemisphere-continuous
    # Posed rig = the core's FK at several frames.
    for f in (0, 1, T // 3, T // 2, T - 1):
        sc.frame_set(sc.frame_start + f)
        np.testing.assert_allclose(dancer.world_joints(arm), dancer.yup_to_zup(m.joints[f]), atol=1e-4)
    # The skinned body follows: evaluated mesh = numpy LBS of the built-in body.
    f = T // 2
    sc.frame_set(sc.frame_start + f)
    body = bpy.data.objects["Dancer_body"]
    ev = body.evaluated_get(bpy.context.evaluated_depsgraph_get())
    mesh = ev.to_mesh()
    co = np.empty(len(mesh.vertices) * 3, np.float32)
    mesh.vertices.foreach_get("co", co)
    ev.to_mesh_clear()
    ref = skin(build_builtin_body(), m.poses[f], m.trans[f])
    np.testing.assert_allclose(co.reshape(-1, 3), ref, atol=2e-4)
    # Contacts kept as an animated custom property.
    sc.frame_set(sc.frame_start + 10)
    np.testing.assert_allclose(list(arm["md_contacts"]), m.contacts[10], atol=1e-6)


def test_takes_on_nla_tracks_and_take_ops(fresh, song):
    sc, arm = _scene_with_take(fresh, song, seed=1)
    takes = _mod(fresh, "takes")
    first = takes.active_take(arm)
    sc.magicdance.seed = 2
    sc.magicdance.style = "waltz"
    assert bpy.ops.magicdance.generate_dance() == {"FINISHED"}
    second = takes.active_take(arm)
    meta = json.loads(second["md_meta"])
    assert meta["style"] == "waltz" and meta["seed"] == 2
    lst = takes.list_takes(arm)
    assert [a for _, a in lst] == [first, second]
    assert [tr.mute for tr, _ in lst] == [True, False]
    assert lst[0][0].strips[0].action == first and lst[0][0].strips[0].action_slot is not None
    # make active
    assert bpy.ops.magicdance.take_activate(index=0) == {"FINISHED"}
    assert arm.animation_data.action == first and [tr.mute for tr, _ in takes.list_takes(arm)] == [False, True]
    # solo / compare and back
    assert bpy.ops.magicdance.take_solo(index=1) == {"FINISHED"}
    assert arm.animation_data.action is None and takes.list_takes(arm)[1][0].is_solo
    assert bpy.ops.magicdance.take_solo(index=1) == {"FINISHED"}
    assert arm.animation_data.action == first and not any(tr.is_solo for tr, _ in takes.list_takes(arm))
    # rename, duplicate, delete
    assert bpy.ops.magicdance.take_rename(index=1, name="Chorus idea") == {"FINISHED"}
    assert second.name == "Chorus idea" and takes.list_takes(arm)[1][0].name == "Chorus idea"
    assert bpy.ops.magicdance.take_duplicate(index=1) == {"FINISHED"}
    assert len(takes.list_takes(arm)) == 3
    dup = takes.list_takes(arm)[2][1]
    assert len(takes.take_fcurves(dup)) == len(takes.take_fcurves(second))
    assert bpy.ops.magicdance.take_delete(index=0) == {"FINISHED"}
    assert len(takes.list_takes(arm)) == 2 and "Dancer_Take01" not in bpy.data.actions
    assert takes.active_take(arm) is not None
    # flatten
    assert bpy.ops.magicdance.takes_flatten() == {"FINISHED"}
    assert takes.list_takes(arm) == [] and arm.animation_data.action.name == "Dancer_Flat"


def test_regenerate_keeps_locked_keys(fresh, song):
    sc, arm = _scene_with_take(fresh, song, seed=4)
    takes = _mod(fresh, "takes")
    old = takes.active_take(arm)
    s = sc.frame_start
    # The animator: poses the left elbow at frame s+60 and keys it; changes a generated
    # pelvis location value at s+80; marks a generated right knee key at s+90 as a Keyframe.
    pb = arm.pose.bones["left_elbow"]
    sc.frame_set(s + 60)
    pb.rotation_quaternion = (0.8, 0.0, 0.6, 0.0)
    pb.keyframe_insert("rotation_quaternion", frame=s + 60)
    fcs = takes.take_fcurves(old)
    kp = [k for k in fcs[('pose.bones["pelvis"].location', 1)].keyframe_points if int(k.co[0]) == s + 80][0]
    kp.co[1] += 0.05
    hand_val = kp.co[1]
    knee = [k for k in fcs[('pose.bones["right_knee"].rotation_quaternion', 1)].keyframe_points
            if int(k.co[0]) == s + 90][0]
    knee.type = "KEYFRAME"
    knee_val = knee.co[1]
    locks = takes.locked_keys(old)
    # (A key inserted over a generated key keeps its type; its changed values mark it. Regenerate
    # then keeps the whole quaternion of a locked frame.)
    paths = takes.channel_paths()
    assert {(paths[c][0], f) for c, keys in locks.items() for f in keys} == {
        ('pose.bones["left_elbow"].rotation_quaternion', s + 60), ('pose.bones["pelvis"].location', s + 80),
        ('pose.bones["right_knee"].rotation_quaternion', s + 90)}
    before = takes.read_channels(old, np.arange(s, sc.frame_end + 1))
    assert bpy.ops.magicdance.regenerate(frame_start=s + 40, frame_end=s + 120, seed=9) == {"FINISHED"}
    new = takes.active_take(arm)
    assert new != old and len(takes.list_takes(arm)) == 2
    nf = takes.take_fcurves(new)
    elbow = [nf[('pose.bones["left_elbow"].rotation_quaternion', i)].evaluate(s + 60) for i in range(4)]
    assert elbow == pytest.approx([0.8, 0.0, 0.6, 0.0], abs=0) or np.array_equal(
        np.float32(elbow), np.float32([0.8, 0.0, 0.6, 0.0]))
    assert nf[('pose.bones["pelvis"].location', 1)].evaluate(s + 80) == hand_val
    assert nf[('pose.bones["right_knee"].rotation_quaternion', 1)].evaluate(s + 90) == knee_val
    after = takes.read_channels(new, np.arange(s, sc.frame_end + 1))
    # Outside the range nothing changed; inside, the generated motion did.
    assert np.array_equal(after[:40], before[:40]) and np.array_equal(after[121:], before[121:])
    assert np.abs(after[50:110, :96] - before[50:110, :96]).max() > 1e-3
    # Locked keys stay locked in the new take.
    assert len(takes.locked_keys(new)) >= 6
    # Selected bones only: other bones untouched everywhere.
    for b in arm.data.bones:
        b.select = b.name in ("left_shoulder", "left_elbow")
    assert bpy.ops.magicdance.regenerate(frame_start=s + 10, frame_end=s + 70, selected_bones="SELECTED",
                                         seed=11) == {"FINISHED"}
    newer = takes.active_take(arm)
    a2 = takes.read_channels(newer, np.arange(s, sc.frame_end + 1))
    other = [c for c, (_, _, g) in enumerate(takes.channel_paths()) if g not in ("left_shoulder", "left_elbow")]
    assert np.array_equal(a2[:, other], after[:, other])


def test_save_and_reload_keeps_takes_and_settings(fresh, song, tmp_path):
    sc, arm = _scene_with_take(fresh, song, seed=5)
    sc.magicdance.seed = 2
    assert bpy.ops.magicdance.generate_dance() == {"FINISHED"}
    sc.magicdance.foot_lock = True
    sc.magicdance.regen_start = 33
    takes = _mod(fresh, "takes")
    vals = takes.read_channels(takes.active_take(arm), np.arange(1, 241))
    path = str(tmp_path / "scene.blend")
    bpy.ops.wm.save_as_mainfile(filepath=path)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable(MODULE, default_set=True)
    bpy.ops.wm.open_mainfile(filepath=path)
    sc = bpy.context.scene
    arm = bpy.data.objects["Dancer"]
    lst = takes.list_takes(arm)
    assert len(lst) == 2 and [tr.mute for tr, _ in lst] == [True, False]
    assert np.array_equal(takes.read_channels(takes.active_take(arm), np.arange(1, 241)), vals)
    assert sc.magicdance.seed == 2 and sc.magicdance.foot_lock and sc.magicdance.regen_start == 33
    assert json.loads(sc["md_music"])["path"] == song
    assert _mod(fresh, "music").music_strip(sc) is not None
    assert sum(m.name.startswith("md:") for m in sc.timeline_markers) >= 14


def test_operator_is_one_step_snapshot_restores(fresh, song, tmp_path):
    """Undo: ``bpy.ops.ed.undo`` has no window in background mode (its poll fails), so we
    check what undo relies on instead: every operator is one undo step (REGISTER+UNDO) and
    all it changes lives in the .blend data — a snapshot taken before it restores the scene
    exactly (the memfile undo step is such a snapshot)."""
    for name in ("import_music", "add_dancer", "generate_dance", "regenerate", "take_delete", "takes_flatten"):
        op = getattr(bpy.types, f"MAGICDANCE_OT_{name}")
        assert {"REGISTER", "UNDO"} <= set(op.bl_options), name
    sc, arm = _scene_with_take(fresh, song, seed=6)
    snap = str(tmp_path / "before.blend")
    bpy.ops.wm.save_as_mainfile(filepath=snap, copy=True)
    assert bpy.ops.magicdance.take_delete(index=0) == {"FINISHED"}
    assert bpy.ops.magicdance.add_dancer(name="Second") == {"FINISHED"}
    bpy.ops.wm.open_mainfile(filepath=snap)
    assert {o.name for o in bpy.data.objects} == {"Dancer", "Dancer_body"}
    assert len(_mod(fresh, "takes").list_takes(bpy.data.objects["Dancer"])) == 1


def test_export_bvh_and_fbx(fresh, song, tmp_path):
    sc, arm = _scene_with_take(fresh, song, seed=7)
    bvh = tmp_path / "take.bvh"
    fbx = tmp_path / "take.fbx"
    assert bpy.ops.magicdance.export_bvh(filepath=str(bvh)) == {"FINISHED"}
    assert bpy.ops.magicdance.export_fbx(filepath=str(fbx)) == {"FINISHED"}
    text = bvh.read_text()
    assert "HIERARCHY" in text and "left_elbow" in text
    frames = int(text.split("Frames:")[1].split()[0])
    assert frames == sc.frame_end - sc.frame_start + 1
    assert fbx.stat().st_size > 10_000 and fbx.read_bytes()[:18] == b"Kaydara FBX Binary"
    with pytest.raises(RuntimeError, match="folder does not exist"):
        bpy.ops.magicdance.export_bvh(filepath=str(tmp_path / "nope" / "x.bvh"))


# ------------------------------------------------------------------ worker
def _snapshot(scene):
    objs = sorted((o.name, o.animation_data.action.name if o.animation_data and o.animation_data.action else None)
                  for o in bpy.data.objects)
    return (objs, sorted(a.name for a in bpy.data.actions), scene.frame_start, scene.frame_end,
            len(scene.timeline_markers), scene.get("md_music"))


def test_worker_cancel_leaves_no_trace(fresh, song, tmp_path):
    sc, arm = _scene_with_take(fresh, song, seed=8)
    generation = _mod(fresh, "generation")
    wc = _mod(fresh, "worker_client")
    before = _snapshot(sc)
    req = generation.generate_request(sc, seed=1)
    out = req["out"]
    job = wc.start(sys.executable, req, str(ROOT), "Generating dance")   # the GUI's entry point
    st = bpy.context.window_manager.magicdance_job
    t0 = time.monotonic()
    while job.fraction == 0.0 and time.monotonic() - t0 < 60:   # wait until it is really working
        wc.tick()                                               # what bpy.app.timers runs
        time.sleep(0.02)
    assert job.stage != "starting" and job.proc.poll() is None
    assert st.running and st.fraction == pytest.approx(job.fraction, abs=1e-6) and "Generating dance" in st.text
    assert bpy.ops.magicdance.cancel_job.poll()
    t1 = time.monotonic()
    assert wc.cancel_current()
    assert time.monotonic() - t1 < 1.0 and job.proc.returncode is not None
    assert not st.running
    wc.finish_current()
    assert not os.path.exists(out)
    assert not [p for p in os.listdir(os.path.dirname(out)) if p.startswith(os.path.basename(out))]
    assert _snapshot(sc) == before


@pytest.mark.slow
def test_worker_generate_roundtrip(fresh, song, tmp_path):
    """The GUI path minus the window: the worker subprocess generates, the add-on applies."""
    sc, arm = _scene_with_take(fresh, song, seed=8)
    generation = _mod(fresh, "generation")
    wc = _mod(fresh, "worker_client")
    # Hand the worker the analysis file, as Import Music in the GUI leaves it.
    a = _mod(fresh, "music").analyze(song)
    mj = tmp_path / "music.json"
    a.to_json(mj)
    req = generation.generate_request(sc, seed=3)
    req["music"] = str(mj)
    job = wc.WorkerJob(sys.executable, req, str(ROOT))
    stages = set()
    t0 = time.monotonic()
    while not job.poll() and time.monotonic() - t0 < 120:
        stages.add(job.stage)
        time.sleep(0.05)
    job.close()
    assert job.error is None and job.result["paths"]["motion"] == req["out"]
    from magicdance_core.body.motion_file import load_motion

    m = load_motion(job.result["paths"]["motion"])   # what the worker wrote
    assert m.meta.get("seed") == 3
    act = generation.apply_generate(sc, arm, job.result)
    assert not os.path.exists(req["out"])             # the add-on cleans up the hand-over file
    takes = _mod(fresh, "takes")
    got = takes.read_channels(act, np.arange(sc.frame_start, sc.frame_start + m.num_frames))
    np.testing.assert_allclose(got, takes.motion_channels(m), atol=1e-5)
    # Errors come back as one message.
    bad = dict(req, music=str(tmp_path / "missing.wav"))
    job = wc.WorkerJob(sys.executable, bad, str(ROOT))
    while not job.poll():
        time.sleep(0.05)
    job.close()
    assert job.error and "missing.wav" in job.error


def test_dancer_with_user_smpl_model(fresh, tmp_path):
    """A (synthetic, tiny) SMPL model named in the preferences: the rig is built on the model's
    joints and the body is the model's mesh; posing follows FK with the model's offsets."""
    from magicdance_core.body.fk import forward_kinematics
    from magicdance_core.body.skeleton import PARENTS, REST_OFFSETS, offsets_from_joints, rest_joints
    from magicdance_core.body.smpl_mesh import load_smpl_body

    rng = np.random.default_rng(0)
    joints = rest_joints(REST_OFFSETS * 1.07) + np.array([0.01, -0.2, 0.03])
    d = rng.normal(size=(24, 3)) * 0.01
    v = np.concatenate([joints + d, joints - d])
    jr = np.zeros((24, 48))
    jr[np.arange(24), np.arange(24)] = 0.5
    jr[np.arange(24), np.arange(24) + 24] = 0.5
    w = np.zeros((48, 24))
    w[np.arange(48), np.arange(48) % 24] = 1.0
    kt = np.stack([np.array([4294967295] + list(PARENTS[1:]), dtype=np.int64), np.arange(24)])
    faces = np.array([[i, (i + 1) % 48, (i + 24) % 48] for i in range(48)], dtype=np.int64)
    path = tmp_path / "SMPL_NEUTRAL.npz"
    np.savez(path, v_template=v, shapedirs=np.zeros((48, 3, 10)), posedirs=np.zeros((48, 3, 207)),
             J_regressor=jr, weights=w, kintree_table=kt, f=faces)
    bpy.context.preferences.addons[MODULE].preferences.smpl_model_path = str(path)
    try:
        assert bpy.ops.magicdance.add_dancer() == {"FINISHED"}
    finally:
        bpy.context.preferences.addons[MODULE].preferences.smpl_model_path = ""
    arm = bpy.data.objects["Dancer"]
    ref = load_smpl_body(str(path))
    heads = np.array([arm.data.bones[n].head_local for n in skeleton.JOINT_NAMES])
    np.testing.assert_allclose(heads, ref.rest_joints, atol=1e-5)
    # The model's folder works as well as the file: same rig on the model's joints, same mesh.
    arm2 = _mod(fresh, "dancer").add_dancer(bpy.context.scene, name="FolderDancer", smpl_model_path=str(tmp_path))
    heads2 = np.array([arm2.data.bones[n].head_local for n in skeleton.JOINT_NAMES])
    np.testing.assert_allclose(heads2, ref.rest_joints, atol=1e-5)
    assert np.abs(heads2 - rest_joints()).max() > 0.01          # not the built-in skeleton
    assert len(bpy.data.objects["FolderDancer_body"].data.vertices) == len(ref.vertices)
    assert len(bpy.data.objects["Dancer_body"].data.vertices) == len(ref.vertices)
    # Pose it with a take and compare with FK on the model's offsets.
    from magicdance_core.body.motion_file import Motion

    T = 5
    m = Motion(rng.normal(0, 0.3, (T, 24, 3)), rng.normal(0, 0.2, (T, 3)) + [0, 1, 0])
    _mod(fresh, "takes").write_take(arm, m)
    dancer = _mod(fresh, "dancer")
    want = forward_kinematics(m.poses.astype(np.float64), m.trans.astype(np.float64), offsets_from_joints(ref.rest_joints))
    for f in range(T):
        bpy.context.scene.frame_set(bpy.context.scene.frame_start + f)
        np.testing.assert_allclose(dancer.world_joints(arm), dancer.yup_to_zup(want[f]), atol=1e-4)


def test_panel_buttons_name_registered_operators(fresh):
    """Every button in the sidebar names an operator the extension registered (a typo'd
    idname draws nothing in Blender, silently); Render Passes is among them."""
    import re

    src = (ROOT / "ui" / "panels.py").read_text()
    idnames = set(re.findall(r'operator\("([a-z_]+\.[a-z_]+)"', src))
    assert "magicdance.render_passes" in idnames and "magicdance.generate_dance" in idnames
    for idname in sorted(idnames):
        mod, op = idname.split(".")
        assert hasattr(getattr(bpy.ops, mod), op), idname
        getattr(getattr(bpy.ops, mod), op).get_rna_type()   # raises if not registered


def test_generator_setting_chooses_who_dances(fresh, song):
    """The sidebar's Generator setting reaches the core: the model by default, the choreographer
    when chosen; each take's keys are that generator's dance."""
    sc, arm = _scene_with_take(fresh, song, seed=5)
    takes = _mod(fresh, "takes")
    m_choreo = _reference_motion(fresh, song, seed=5, generator="choreo")
    m_model = _reference_motion(fresh, song, seed=5, generator="model")
    assert m_choreo.meta["model"].startswith("choreographer")
    assert not m_model.meta["model"].startswith("choreographer")
    path, idx, _ = takes.channel_paths()[0]

    def first_channel():
        fcs = takes.take_fcurves(takes.active_take(arm))
        co = np.empty(len(fcs[(path, idx)].keyframe_points) * 2, np.float32)
        fcs[(path, idx)].keyframe_points.foreach_get("co", co)
        return co.reshape(-1, 2)[:, 1]

    assert sc.magicdance.generator == "MODEL"
    np.testing.assert_allclose(first_channel(), takes.motion_channels(m_model)[:, 0], atol=1e-6)
    sc.magicdance.generator = "CHOREO"
    assert bpy.ops.magicdance.generate_dance() == {"FINISHED"}
    np.testing.assert_allclose(first_channel(), takes.motion_channels(m_choreo)[:, 0], atol=1e-6)
    # Snap to the beat retimes the model's dance, with the Beat pulse slider's pulse
    sc.magicdance.generator, sc.magicdance.snap_to_beat, sc.magicdance.beat_pulse = "MODEL", True, 0.0
    assert bpy.ops.magicdance.generate_dance() == {"FINISHED"}
    m_flat = _reference_motion(fresh, song, seed=5, beat_pulse=0.0, snap_to_beat=True)
    assert m_flat.meta["beat_sync"] == 1.0 and m_flat.meta["beat_pulse"] == 0.0
    assert np.abs(takes.motion_channels(m_flat)[:, 0] - takes.motion_channels(m_model)[:, 0]).max() > 1e-3
    np.testing.assert_allclose(first_channel(), takes.motion_channels(m_flat)[:, 0], atol=1e-6)
    sc.magicdance.beat_pulse = 0.5
    assert bpy.ops.magicdance.generate_dance() == {"FINISHED"}
    m_pulse = _reference_motion(fresh, song, seed=5, beat_pulse=0.5, snap_to_beat=True)
    np.testing.assert_allclose(first_channel(), takes.motion_channels(m_pulse)[:, 0], atol=1e-6)
    assert np.abs(takes.motion_channels(m_pulse)[:, 0] - takes.motion_channels(m_flat)[:, 0]).max() > 1e-3


@pytest.mark.parametrize("generator", ["MODEL", "CHOREO"])
def test_regenerated_dance_passes_through_locked_pelvis_and_bones(fresh, song, generator):
    """Issue 16's edit: the pelvis moved 0.3 m at two frames and three bones rotated, then the
    frames around them regenerated. The new take keeps every locked value, and the dancer does
    not teleport into them: at and beside each locked frame no pelvis or joint step is larger
    than the take's own 99th-percentile step (before: 0.4-0.6 m jumps into the keys)."""
    sc, arm = _scene_with_take(fresh, song, seed=1)
    sc.magicdance.generator = generator
    takes = _mod(fresh, "takes")
    old = takes.active_take(arm)
    s = sc.frame_start
    frames = np.arange(s, sc.frame_end + 1)
    before = takes.channels_to_motion(takes.read_channels(old, frames))
    pelvis = arm.pose.bones["pelvis"]
    locked = []
    for f in (s + 60, s + 120):
        sc.frame_set(f)
        pelvis.location = (pelvis.location[0] + 0.3, pelvis.location[1], pelvis.location[2])
        pelvis.keyframe_insert("location", frame=f)
        locked.append(f)
    for name, f in (("left_elbow", s + 60), ("right_knee", s + 90), ("spine2", s + 120)):
        sc.frame_set(f)
        pb = arm.pose.bones[name]
        q = pb.rotation_quaternion.copy()
        pb.rotation_quaternion = (q[0] * 0.9 - 0.3 * q[1], q[1] * 0.9 + 0.3 * q[0], q[2], q[3])
        pb.rotation_quaternion.normalize()
        pb.keyframe_insert("rotation_quaternion", frame=f)
        locked.append(f)
    edited = takes.read_channels(old, frames)
    assert bpy.ops.magicdance.regenerate(frame_start=s + 30, frame_end=s + 150, seed=2) == {"FINISHED"}
    new = takes.read_channels(takes.active_take(arm), frames)
    lock = takes.locked_keys(old)   # every locked value comes back exactly
    for c, keys in lock.items():
        for f in keys:
            assert new[int(f) - s, c] == np.float32(edited[int(f) - s, c])
    # The take's own 99th-percentile step, of the pelvis and of the fastest joint in a frame; the
    # regenerated take's steps at and beside every locked frame stay within them.
    j_before, j_new = before.joints, takes.channels_to_motion(new).joints
    own = np.linalg.norm(np.diff(j_before, axis=0), axis=-1)
    step = np.linalg.norm(np.diff(j_new, axis=0), axis=-1)
    near = sorted({k for f in locked for k in range(f - s - 2, f - s + 2)})
    for what, o, n in (("pelvis", own[:, 0], step[near, 0]), ("fastest joint", own.max(1), step[near].max(1))):
        p99 = np.percentile(o, 99)
        k = int(np.argmax(n))
        assert n[k] <= p99, f"{what} step {n[k]:.3f} m at frame {near[k] + s} > the take's 99th percentile {p99:.3f} m"
