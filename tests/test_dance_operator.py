"""The "Animate Photo" operator in the installed extension: the take + a photo -> a video strip.

In the GUI it runs the dance job in the worker subprocess, modal; a window's event loop cannot
run under Blender-as-a-module, so the tests drive the operator's own ``start_worker`` and
``modal`` (the methods Blender calls) with timer and Esc events, and ``worker_client.tick`` (what
``bpy.app.timers`` runs).  Under ``blender -b`` the same request runs in-process (``execute``).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if "bpy" not in sys.modules:
    os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="md_blender_user_"))
bpy = pytest.importorskip("bpy")
import addon_utils  # noqa: E402

sys.path.insert(0, str(ROOT))
import build  # noqa: E402

pytestmark = [pytest.mark.blender]
MODULE = "bl_ext.user_default.magicdance"
PHOTO = ROOT / "examples" / "mannequin.png"


@pytest.fixture(scope="module")
def ext(tmp_path_factory):
    if MODULE not in sys.modules:
        zp = build.build(tmp_path_factory.mktemp("dist"))
        bpy.ops.wm.read_factory_settings(use_empty=True)
        assert bpy.ops.extensions.package_install_files(repo="user_default", filepath=str(zp),
                                                        enable_on_install=True) == {"FINISHED"}
    return importlib.import_module(MODULE)


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    import soundfile as sf

    from magicdance_core.audio.decode import load_audio

    y, sr = load_audio(ROOT / "examples" / "song.ogg")
    p = tmp_path_factory.mktemp("song") / "s.wav"
    sf.write(p, y[: int(2 * sr)], sr)
    return p


def _scene(ext, song, blend):
    """A saved scene with music, the dancer and a take (written directly: no model run)."""
    from magicdance_core.body.motion_file import Motion
    from magicdance_core.body.skeleton import JOINT_INDEX as J, REST_PELVIS_HEIGHT

    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable(MODULE, default_set=True)
    prefs = bpy.context.preferences.addons[MODULE].preferences
    prefs.python_path, prefs.source_path = sys.executable, str(ROOT)
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    assert not bpy.ops.magicdance.animate_photo.poll()          # no music yet
    assert bpy.ops.magicdance.import_music(filepath=str(song)) == {"FINISHED"}
    assert bpy.ops.magicdance.add_dancer() == {"FINISHED"}
    assert not bpy.ops.magicdance.animate_photo.poll()          # no take yet
    T = 60
    poses = np.zeros((T, 24, 3))
    poses[:, J["left_shoulder"], 2] = -1.2 + 0.8 * np.sin(np.linspace(0, 6, T))
    poses[:, J["right_shoulder"], 2] = 1.2
    trans = np.tile([0.0, REST_PELVIS_HEIGHT, 0.0], (T, 1))
    arm = bpy.data.objects["Dancer"]
    importlib.import_module(MODULE + ".takes").write_take(arm, Motion(poses=poses, trans=trans))
    assert bpy.ops.magicdance.animate_photo.poll()
    return bpy.context.scene


def _snapshot(scene):
    seq = scene.sequence_editor
    strips = sorted((s.name, s.channel) for s in (seq.strips if hasattr(seq, "strips") else seq.sequences))
    return strips, sorted(o.name for o in bpy.data.objects), sorted(a.name for a in bpy.data.actions)


def _driven(ext, **props):
    """The operator's own methods on a plain object (a registered Operator cannot be instantiated)."""
    ap = importlib.import_module(MODULE + ".operators.animate_photo")
    common = importlib.import_module(MODULE + ".operators.common")

    class Driven(ap.AnimatePhotoJob, common.JobOperatorMixin):
        def __init__(self):
            self.filepath, self.size, self.landmarks = str(PHOTO), 128, ""
            self.__dict__.update(props)
            self.reports = []

        def report(self, kind, msg):
            self.reports.append((sorted(kind)[0], msg))

    return Driven()


def _hand_over_files():
    d = Path(tempfile.gettempdir()) / "magicdance"
    return sorted(d.glob("dance_take_*")) if d.is_dir() else []


def _temps(folder):
    return [p for p in Path(folder).rglob("*") if ".tmp-" in p.name or ".part" in p.name]


@pytest.mark.slow
def test_animate_photo_in_the_worker_then_in_process(ext, song, tmp_path):
    sc = _scene(ext, song, tmp_path / "t.blend")
    wc = importlib.import_module(MODULE + ".worker_client")
    takes_before = _hand_over_files()
    op = _driven(ext)
    assert op.launch(bpy.context), op.reports   # start_worker minus Blender's modal-handler registration
    st = bpy.context.window_manager.magicdance_job
    stages, fractions, t0 = set(), [], time.monotonic()
    res = {"PASS_THROUGH"}
    while res == {"PASS_THROUGH"} and time.monotonic() - t0 < 400:
        wc.tick()                                    # bpy.app.timers' call: progress into the UI
        if st.running:
            stages.add(wc.CURRENT.stage)
            fractions.append(st.fraction)
            assert "Animate Photo" in st.text
        res = op.modal(bpy.context, SimpleNamespace(type="TIMER"))
        time.sleep(0.1)
    assert res == {"FINISHED"}, op.reports
    assert {"photo", "animate"} <= stages and max(fractions) > 0.3 and not st.running
    strips = {s.name: s for s in sc.sequence_editor.strips}
    movie, music = strips["MagicDance Video"], strips["MagicDance music"]
    assert movie.type == "MOVIE" and movie.channel == music.channel + 1
    assert movie.frame_start == music.frame_start and movie.frame_final_duration == 60
    video = Path(bpy.path.abspath(movie.filepath))
    assert video == tmp_path / "magicdance" / "Scene_dance.mp4" and video.stat().st_size > 1000
    job = json.loads((tmp_path / "magicdance" / "Scene_dance.job" / "job.json").read_text())
    assert job["status"] == "done"
    assert _hand_over_files() == takes_before and not _temps(tmp_path)
    # In-process (blender -b): the same request; the job folder is reused, the strip replaced
    mtime = video.stat().st_mtime_ns
    assert bpy.ops.magicdance.animate_photo(filepath=str(PHOTO), size=128) == {"FINISHED"}
    assert [s.name for s in sc.sequence_editor.strips].count("MagicDance Video") == 1
    assert video.stat().st_mtime_ns == mtime   # every stage was up to date
    with pytest.raises(RuntimeError, match="choose a photo"):
        bpy.ops.magicdance.animate_photo(filepath=str(tmp_path / "none.jpg"))


@pytest.mark.slow
def test_esc_cancels_and_leaves_scene_and_files_as_they_were(ext, song, tmp_path):
    sc = _scene(ext, song, tmp_path / "t.blend")
    wc = importlib.import_module(MODULE + ".worker_client")
    before, files_before, takes_before = _snapshot(sc), sorted(tmp_path.rglob("*")), _hand_over_files()
    op = _driven(ext)
    assert op.launch(bpy.context), op.reports   # start_worker minus Blender's modal-handler registration
    job, t0 = wc.CURRENT, time.monotonic()
    while job.stage not in ("photo", "animate") and time.monotonic() - t0 < 300:   # really working
        wc.tick()
        assert op.modal(bpy.context, SimpleNamespace(type="TIMER")) == {"PASS_THROUGH"}, op.reports
        time.sleep(0.05)
    assert job.stage in ("photo", "animate") and job.proc.poll() is None
    assert (tmp_path / "magicdance").is_dir()          # the job had begun writing
    t1 = time.monotonic()
    assert op.modal(bpy.context, SimpleNamespace(type="ESC")) == {"CANCELLED"}
    assert time.monotonic() - t1 < 3.0 and job.proc.returncode is not None
    assert ("WARNING", "Animate Photo cancelled") in op.reports
    assert not bpy.context.window_manager.magicdance_job.running and wc.CURRENT is None
    assert _snapshot(sc) == before                      # no strip
    assert sorted(tmp_path.rglob("*")) == files_before  # no video, no job folder, no temp file
    assert _hand_over_files() == takes_before


def test_worker_answers_a_bad_animate_request(tmp_path):
    from magicdance_core.errors import BadRequest, BadInput
    from magicdance_core.worker.protocol import OPS

    with pytest.raises(BadRequest, match="animate needs 'photo'"):
        OPS["animate"]({"op": "animate", "music": "a.wav", "motion": "m.npz", "out": "v.mp4"}, None)
    with pytest.raises(BadRequest, match="'size'"):
        OPS["animate"]({"op": "animate", "music": "a.wav", "photo": "p.png", "motion": "m.npz", "out": "v.mp4",
                        "size": "big"}, None)
    with pytest.raises(BadInput, match="--music"):   # run_dance's own checks, before any work
        OPS["animate"]({"op": "animate", "music": str(tmp_path / "a.wav"), "photo": str(PHOTO),
                        "motion": str(tmp_path / "m.npz"), "out": str(tmp_path / "v.mp4")}, None)
    assert not list(tmp_path.iterdir())
