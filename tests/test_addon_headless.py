"""Headless scene building: ``magicdance scene`` and ``scripts/headless_scene.py``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SONG = ROOT / "examples" / "song.ogg"


def test_script_bad_input_is_one_line(tmp_path):
    out = tmp_path / "x.blend"
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "headless_scene.py"), "--", str(tmp_path / "no.ogg"),
                        str(out)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 2 and r.stderr.strip().startswith("error: SONG: song not found")
    assert "Traceback" not in r.stderr and not out.exists()


def test_cli_scene_bad_output(cli, tmp_path):
    r = cli("scene", SONG, "-o", tmp_path / "scene.txt")
    assert r.returncode == 2 and "must be a .blend" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
@pytest.mark.skipif(not SONG.exists(), reason="examples/song.ogg missing")
def test_cli_scene_builds_the_scene(cli, tmp_path):
    out = tmp_path / "scene.blend"
    r = cli("scene", SONG, "-o", out, "--seed", "2")
    assert r.returncode == 0, r.stderr
    assert out.exists() and not list(tmp_path.glob(".*part*"))
    # Open it in a fresh interpreter with bpy and check what the add-on would have built.
    code = f"""
import json, bpy, sys
sys.path.insert(0, {str(ROOT)!r})
bpy.ops.wm.open_mainfile(filepath={str(out)!r})
from blender_addon import takes, music
sc = bpy.context.scene
arm = bpy.data.objects['Dancer']
act = takes.active_take(arm)
info = json.loads(sc['md_music'])
print(json.dumps(dict(fps=sc.render.fps, start=sc.frame_start, end=sc.frame_end, takes=len(takes.list_takes(arm)),
    keys=len(takes.take_fcurves(act)[('pose.bones["pelvis"].location', 0)].keyframe_points),
    strip=music.music_strip(sc) is not None, markers=sum(m.name.startswith('md:') for m in sc.timeline_markers),
    beats=len(info['beats_s']), dur=info['duration_s'], camera=sc.camera is not None)))
"""
    r2 = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r2.returncode == 0, r2.stderr
    d = json.loads(r2.stdout.strip().splitlines()[-1])
    n = int(np.ceil(d["dur"] * 30 - 1e-6))
    assert d["fps"] == 30 and d["end"] - d["start"] + 1 == n
    assert d["takes"] == 1 and d["keys"] == n and d["strip"] and d["camera"]
    assert d["markers"] > 10 and d["markers"] <= d["beats"]


def test_clean_blender_finds_core_through_preferences(tmp_path):
    """In a Python where magicdance_core is not importable, the extension still registers,
    says what is missing, and works once the preferences name the MagicDance folder."""
    sys.path.insert(0, str(ROOT))
    import build

    z = build.build(tmp_path / "dist")
    code = f"""
import os, sys
os.environ['BLENDER_USER_RESOURCES'] = {str(tmp_path / 'user')!r}
sys.path = [p for p in sys.path if os.path.abspath(p or '.') != {str(ROOT)!r}]
# an editable install (scripts/setup.sh's `pip install -e .`) finds the core through a meta-path
# finder: drop it too, to stand for a Blender whose Python has no MagicDance.
sys.meta_path = [f for f in sys.meta_path
                 if '__editable__' not in (getattr(f, '__module__', '') or '') + type(f).__module__]
import bpy
try:
    import magicdance_core
    print('CORE_IMPORTABLE'); raise SystemExit(3)
except ImportError:
    pass
bpy.ops.extensions.package_install_files(repo='user_default', filepath={str(z)!r}, enable_on_install=True)
try:
    bpy.ops.magicdance.add_dancer()
except RuntimeError as e:
    print('REPORT', str(e).strip())
prefs = bpy.context.preferences.addons['bl_ext.user_default.magicdance'].preferences
prefs.source_path = {str(ROOT)!r}
print('RESULT', bpy.ops.magicdance.add_dancer(), len(bpy.data.objects['Dancer'].data.bones))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300,
                       env={k: v for k, v in __import__("os").environ.items() if k != "PYTHONPATH"})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "REPORT Error: MagicDance core not found: set the MagicDance source folder" in r.stdout
    assert "RESULT {'FINISHED'} 24" in r.stdout


def test_blender_side_needs_no_torch_librosa_or_pyav(tmp_path):
    """What runs inside Blender's own Python in the GUI imports numpy only."""
    code = f"""
import sys
for m in ('torch', 'librosa', 'av', 'scipy', 'soundfile', 'cv2', 'mediapipe'):
    sys.modules[m] = None          # importing them now fails, as in Blender's bundled Python
sys.path.insert(0, {str(ROOT)!r})
import numpy as np, bpy
from blender_addon import dancer, takes, generation, music, worker_client, core_path
from magicdance_core.body.motion_file import Motion, save_motion
from magicdance_core.audio.analysis import MusicAnalysis
bpy.ops.wm.read_factory_settings(use_empty=True)
sc = bpy.context.scene
arm = dancer.add_dancer(sc)
T = 30
save_motion(Motion(np.zeros((T, 24, 3)), np.tile([0, 0.97, 0], (T, 1))), {str(tmp_path / 'm.npz')!r})
act = generation.apply_generate(sc, arm, {{'paths': {{'motion': {str(tmp_path / 'm.npz')!r}}}}}, foot_lock=True)
print('OK', len(takes.take_fcurves(act)))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "OK 103" in r.stdout
