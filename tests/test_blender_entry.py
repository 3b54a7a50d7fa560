"""The one headless Blender entry point (blender_addon/headless.py) and the core's side of it.

magicdance_core must never import bpy or the add-on: everything Blender does for the CLI and the
jobs runs as ``python -m blender_addon.headless ACTION`` in a child process, and that works from
the installed package in any folder.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "magicdance_core"
BLENDER_ONLY = ("bpy", "blender_addon", "mathutils", "bmesh", "addon_utils", "bpy_extras", "operators", "ui")


def _imports(tree):
    """(line, module name) of every import statement and importlib/__import__ call with a literal."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            if name in ("import_module", "__import__", "find_spec") and isinstance(node.args[0].value, str):
                yield node.lineno, node.args[0].value


def test_core_source_imports_nothing_from_blender():
    bad, code_in_strings = [], []
    files = sorted(CORE.rglob("*.py"))
    assert len(files) > 50
    for f in files:
        tree = ast.parse(f.read_text(), str(f))
        for line, mod in _imports(tree):
            if mod.split(".")[0] in BLENDER_ONLY:
                bad.append(f"{f.relative_to(ROOT)}:{line} imports {mod}")
        for node in ast.walk(tree):   # python -c SCRIPT: code kept in a string
            if isinstance(node, (ast.List, ast.Tuple)) and any(
                    isinstance(e, ast.Constant) and e.value == "-c" for e in node.elts):
                code_in_strings.append(f"{f.relative_to(ROOT)}:{node.lineno}")
    assert not bad, bad
    assert not code_in_strings, code_in_strings


def test_the_scan_catches_a_blender_import():
    # the scan above must be able to fail
    tree = ast.parse("import os\nfrom blender_addon import passes\nimportlib.import_module('bpy')\n")
    assert [m for _, m in _imports(tree) if m.split(".")[0] in BLENDER_ONLY] == ["blender_addon", "bpy"]


def test_core_commands_load_with_blender_blocked():
    """Every command of the CLI, the jobs and the Blender runner import with bpy and the add-on
    made unimportable (a meta-path finder that refuses them)."""
    code = """
import importlib, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in %r:
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
from magicdance_core import cli
cli.build_parser()
for m in ('magicdance_core.commands.scene', 'magicdance_core.commands.passes', 'magicdance_core.jobs.scene_stage',
          'magicdance_core.jobs.pipeline', 'magicdance_core.blender_process', 'magicdance_core.worker.protocol'):
    importlib.import_module(m)
print('LOADED', sorted(m for m in sys.modules if m.split('.')[0] in %r))
""" % (BLENDER_ONLY, BLENDER_ONLY)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "LOADED []" in r.stdout


def _entry(*args, cwd, timeout=300):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-m", "blender_addon.headless", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)


def _messages(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def short_song(tmp_path_factory):
    import soundfile as sf

    from magicdance_core.audio.decode import load_audio

    y, sr = load_audio(ROOT / "examples" / "song.ogg")
    p = tmp_path_factory.mktemp("song") / "s.wav"
    sf.write(p, y[: int(2 * sr)], sr)
    return p


def _motion(path, T=20):
    from magicdance_core.body.motion_file import Motion, save_motion
    from magicdance_core.body.skeleton import JOINT_INDEX as J, REST_PELVIS_HEIGHT

    poses = np.zeros((T, 24, 3))
    poses[:, J["left_elbow"], 1] = np.linspace(0, 1.2, T)
    trans = np.tile([0.0, REST_PELVIS_HEIGHT, 0.0], (T, 1))
    trans[:, 0] = np.linspace(0, 0.3, T)
    m = Motion(poses=poses, trans=trans)
    save_motion(m, path)
    return m


@pytest.fixture(scope="module")
def job_scene(tmp_path_factory, short_song):
    """The dance job's scene stage: song + motion -> scene.blend through the entry point."""
    from magicdance_core.jobs.scene_stage import build_scene_file

    d = tmp_path_factory.mktemp("job")
    m = _motion(d / "motion.npz")
    seen = []
    build_scene_file(short_song, d / "motion.npz", d / "scene.blend", progress=lambda s, f, msg="": seen.append(s))
    return d, m, seen


def test_job_scene_stage_builds_the_scene(job_scene):
    d, m, seen = job_scene
    assert (d / "scene.blend").stat().st_size > 100_000
    assert "scene" in seen   # the child's progress reached the caller
    assert sorted(p.name for p in d.iterdir()) == ["motion.npz", "scene.blend"]   # no temp, no .blend1
    code = f"""
import json, bpy
bpy.ops.wm.open_mainfile(filepath={str(d / 'scene.blend')!r})
from blender_addon import takes, passes, music
sc = bpy.context.scene
arm = bpy.data.objects['Dancer']
m = passes.scene_motion(sc, arm)
print(json.dumps(dict(takes=len(takes.list_takes(arm)), fps=sc.render.fps, n=m.num_frames,
    trans=m.trans.tolist(), strip=music.music_strip(sc) is not None, camera=sc.camera is not None)))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["fps"] == 30 and out["strip"] and out["camera"] and out["takes"] == 1
    # the scene's range is the song (2 s = 60 frames); the take is the job's 20-frame dance
    np.testing.assert_allclose(np.array(out["trans"])[:20], m.trans, atol=1e-5)


def test_installed_cli_renders_passes_of_a_blend_from_any_folder(job_scene, tmp_path):
    """issue 14 item 5: ``magicdance passes SCENE.blend`` failed with "No module named 'blender_addon'"."""
    d, m, _ = job_scene
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    exe = Path(sys.executable).with_name("magicdance")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "magicdance_core.cli"]
    r = subprocess.run([*cmd, "passes", d / "scene.blend", "-o", "out", "--size", "64", "--passes", "densepose",
                        "--no-video"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    pngs = sorted((tmp_path / "out" / "densepose").glob("*.png"))
    assert len(pngs) == 60 and "60 frames x 1 passes at 30 fps" in r.stdout
    import cv2

    first, last = cv2.imread(str(pngs[0])), cv2.imread(str(pngs[19]))
    assert (first != first[0, 0]).any(-1).mean() > 0.02   # the dancer is in the picture
    assert (first != last).any()                          # and moves


def test_entry_point_bad_input_is_one_line_and_a_message(tmp_path, short_song):
    r = _entry("scene", tmp_path / "nope.wav", "-o", tmp_path / "x.blend", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("error: ")
    msgs = _messages(r.stdout)   # stdout holds only the protocol's JSON lines
    assert msgs[-1]["type"] == "error" and msgs[-1]["kind"] == "BadInput" and "nope.wav" in msgs[-1]["message"]
    r = _entry("scene", short_song, "-o", tmp_path / "x.txt", cwd=tmp_path)
    assert r.returncode == 2 and "must be a .blend" in r.stderr and not (tmp_path / "x.txt").exists()
    r = _entry("dance", cwd=tmp_path)
    assert r.returncode == 2 and "invalid choice" in r.stderr


def test_cli_scene_checks_before_blender(cli, tmp_path, short_song):
    r = cli("scene", short_song, "-o", tmp_path / "scene.txt")
    assert r.returncode == 2 and "must be a .blend" in r.stderr and "Traceback" not in r.stderr
    r = cli("scene", short_song, "-o", tmp_path / "s.blend", "--style", "polka")
    assert r.returncode == 2 and "unknown style 'polka'" in r.stderr
    r = cli("scene", short_song, "-o", short_song.with_suffix(".blend"), "--seed", str(2 ** 70))
    assert r.returncode == 2 and "--seed" in r.stderr


@pytest.mark.parametrize("sigint_ignored", [False, True])
def test_cancel_leaves_no_file(tmp_path, sigint_ignored):
    """A caller that cancels (its progress raises Cancelled) stops the child cleanly: no .blend,
    no temporary file, and the Cancelled comes back -- also when this process runs with SIGINT
    ignored (started with nohup or ``&`` from a script; the child inherits that). The whole 30 s
    example song: its analysis lasts seconds after the first "analyze" report."""
    import signal

    from magicdance_core.blender_process import run_action
    from magicdance_core.errors import Cancelled

    _motion(tmp_path / "m.npz")
    calls = []

    def progress(stage, fraction, message=""):
        calls.append((stage, fraction))
        if stage == "analyze":   # Blender has started the scene and is analysing the song
            raise Cancelled("cancelled")

    before = signal.signal(signal.SIGINT, signal.SIG_IGN if sigint_ignored else signal.getsignal(signal.SIGINT))
    try:
        with pytest.raises(Cancelled):
            run_action("scene", [ROOT / "examples" / "song.ogg", "-o", tmp_path / "s.blend", "--motion", tmp_path / "m.npz"],
                       progress)
    finally:
        signal.signal(signal.SIGINT, before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
    assert calls[0] == ("scene", 0.0) and calls[-1][0] == "analyze"


def _children(pid):
    kids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(d.name))
    return kids


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the child through /proc (Linux)")
def test_a_killed_cli_leaves_no_blender_running_and_no_file(tmp_path, short_song):
    """SIGKILL of ``magicdance scene`` (as the add-on ends a worker that started Blender): the
    Blender child notices its parent is gone, stops, and leaves no .blend and no temp file."""
    import signal
    import time

    out_dir = tmp_path / "out"
    out_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    p = subprocess.Popen([sys.executable, "-m", "magicdance_core.cli", "scene", short_song, "-o", out_dir / "s.blend"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    kids = []
    try:
        for line in p.stderr:   # the CLI's progress lines (not a terminal: one per stage start)
            if line.startswith("analyze"):
                break
        kids = _children(p.pid)
        assert len(kids) == 1
        p.kill()
        p.wait()
        t0 = time.monotonic()
        while Path(f"/proc/{kids[0]}").exists() and time.monotonic() - t0 < 60:
            time.sleep(0.2)
        gone = not Path(f"/proc/{kids[0]}").exists() or "Z" in Path(f"/proc/{kids[0]}/stat").read_text().split()[2]
        assert gone, "the Blender child kept running"
    finally:
        if p.poll() is None:
            p.kill()
        for k in kids:   # never leave one behind, even when the test fails
            try:
                os.kill(k, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert list(out_dir.iterdir()) == []
