"""DancePipeline: one pipeline behind every entry point, its checks, presets and meta."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from magicdance_core.body.motion_file import load_motion
from magicdance_core.errors import BadInput, Cancelled
from magicdance_core.motion.cleanup import PRESETS
from magicdance_core.motion.pipeline import DancePipeline

sys.path.insert(0, str(Path(__file__).parent))
from test_motion import _write_wav  # noqa: E402

EX = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    p = tmp_path_factory.mktemp("song") / "song.wav"
    _write_wav(p, seconds=4.0, bpm=120)
    return p


def _cli(*args):
    from magicdance_core.cli import main

    return main(["-q", *map(str, args)])


@pytest.mark.parametrize("flags, message", [
    (["--eta", "7"], "--eta must be between 0 and 1, got 7"),
    (["--eta", "nan"], "--eta must be a finite number, got nan"),
    (["--guidance", "1000"], "--guidance must be between 0 and 20, got 1000"),
    (["--guidance", "-5"], "--guidance must be between 0 and 20, got -5"),
    (["--steps", "0"], "--steps must be between 1 and 1000, got 0"),
    (["--steps", "-3"], "--steps must be between 1 and 1000, got -3"),
    (["--steps", "2.5"], "--steps must be a whole number, got 2.5"),
    (["--beat-pulse", "inf"], "--beat-pulse must be a finite number, got inf"),
    (["--choreo-guide", "1.5"], "--choreo-guide must be between 0 and 1, got 1.5"),
    (["--beat-guidance", "2"], "--beat-guidance must be between 0 and 1, got 2"),
    (["--snap-to-beat", "--no-beat-sync"], "--snap-to-beat and --no-beat-sync contradict each other"),
    (["--snap-to-beat", "--cleanup", "raw"], "--cleanup raw has no beat sync step"),
    (["--style", "foo"], "--style: unknown style 'foo'"),
    (["--cleanup", "shiny"], "--cleanup: unknown clean-up preset 'shiny'; one of: default, raw"),
    (["--generator", "gan"], "--generator: unknown generator 'gan'"),
])
def test_every_sampling_option_is_checked_before_any_work(song, tmp_path, capsys, monkeypatch, flags, message):
    import magicdance_core.audio.analysis as analysis

    def no_analysis(*a, **k):
        raise AssertionError("the song was analysed before the options were checked")

    monkeypatch.setattr(analysis, "analyze_music", no_analysis)
    out = tmp_path / "d.npz"
    assert _cli("motion", song, "-o", out, *flags) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
    assert not out.exists()


def test_pipeline_checks_its_call_arguments_too(song):
    pipe = DancePipeline.from_pretrained()
    for kw, msg in (({"eta": -0.1}, "--eta"), ({"steps": 1001}, "--steps"), ({"style": "polka"}, "--style"),
                    ({"cleanup": "nope"}, "--cleanup"), ({"seed": -1}, "--seed"), ({"foot_fix": "yes"}, "--no-foot-fix")):
        with pytest.raises(BadInput, match=msg):
            pipe(song, **kw)


def test_same_song_seed_and_preset_same_dance_from_cli_worker_and_job(song, tmp_path):
    """The CLI, the worker behind the add-on and the dance job call one pipeline: bit for bit."""
    from magicdance_core.jobs.pipeline import DanceOptions, run_dance
    from magicdance_core.worker import protocol

    cli_out = tmp_path / "cli.npz"
    assert _cli("motion", song, "-o", cli_out, "--seed", "3", "--cleanup", "stage") == 0
    import io

    buf = io.StringIO()
    req = {"op": "generate", "music": str(song), "out": str(tmp_path / "worker.npz"), "seed": 3, "cleanup": "stage"}
    protocol.serve(io.StringIO(json.dumps(req) + "\n"), buf)
    assert json.loads(buf.getvalue().splitlines()[-1])["type"] == "result", buf.getvalue()
    job = tmp_path / "v.job"

    def stop_after_motion(stage, fraction, message=""):
        if (job / "motion.npz").exists():
            raise Cancelled("enough: the motion is there")

    with pytest.raises(Cancelled):
        run_dance(song, EX / "fireman.png", tmp_path / "v.mp4", DanceOptions(seed=3, size=128, scene=False, passes=""),
                  job_dir=job, progress=stop_after_motion)
    a, b, c = load_motion(cli_out), load_motion(tmp_path / "worker.npz"), load_motion(job / "motion.npz")
    for other in (b, c):
        assert np.array_equal(a.poses, other.poses) and np.array_equal(a.trans, other.trans)
        assert np.array_equal(a.contacts, other.contacts)
        assert other.meta["cleanup"] == "stage" and other.meta["cleanup_steps"] == a.meta["cleanup_steps"]
    assert a.meta["yaw_limit"] == 30.0 and a.meta["travel_limit"] == 0.15
    d = np.linalg.norm(a.trans[:, [0, 2]] - a.trans[0, [0, 2]], axis=1)
    assert d.max() < 0.2                                  # the stage preset keeps the dancer in place


def test_presets_run_their_steps_and_say_so_in_meta(song):
    pipe = DancePipeline.from_pretrained()
    raw = pipe(song, seed=1, cleanup="raw", steps=3)
    assert raw.meta["cleanup"] == "raw" and raw.meta["cleanup_steps"] == [] and raw.meta["foot_fix"] is False
    default = pipe(song, seed=1, steps=3)
    assert default.meta["cleanup"] == "default"
    # the shipped default keeps the model's own (beat-guided) timing: no retiming step
    assert default.meta["cleanup_steps"] == ["turn_limit", "foot_fix"]
    assert default.meta["cleanup_settings"] == {k: pipe.sampling[k] for k in ("max_root_turn", "foot_fix")}
    assert default.meta["beat_guidance"] == pipe.sampling["beat_guidance"] > 0
    assert np.abs(default.joints - raw.joints).max() > 1e-3
    snapped = pipe(song, seed=1, steps=3, beat_sync=1.0)       # --snap-to-beat: retiming with the pulse
    assert snapped.meta["cleanup_steps"] == ["beat_sync", "turn_limit", "foot_fix"]
    assert snapped.meta["beat_pulse"] == pipe.sampling["beat_pulse"] > 0
    snap = pipe(song, seed=1, steps=3, cleanup="snap")
    assert snap.meta["beat_pulse"] == 0.0 and snap.meta["beat_sync"] == 1.0
    nosync = pipe(song, seed=1, steps=3, cleanup="nosync")
    assert "beat_sync" not in nosync.meta["cleanup_steps"] and nosync.meta["beat_sync"] == 0.0
    again = pipe(song, seed=1, steps=3)
    assert np.array_equal(again.poses, default.poses)      # same seed, same preset: same dance
    for m in (raw, default, snap, nosync):
        for k in ("steps", "eta", "guidance", "smooth", "seed", "checkpoint_sha256", "music_sha256"):
            assert k in m.meta
    assert set(PRESETS) >= {"default", "raw", "snap", "stage"}


def test_choreographer_goes_through_the_same_chain(song):
    pipe = DancePipeline.from_pretrained(generator="choreo")
    raw = pipe(song, seed=2, style="waltz", cleanup="raw")
    staged = pipe(song, seed=2, style="waltz", cleanup="stage")
    assert raw.meta["model"] == "choreographer" and raw.meta["cleanup_steps"] == []
    assert staged.meta["cleanup_steps"] == ["yaw_limit", "travel_limit", "foot_fix"]
    d = np.linalg.norm(staged.trans[:, [0, 2]] - staged.trans[0, [0, 2]], axis=1)
    assert d.max() <= 0.15 + 1e-6


def test_song_analysed_beside_the_model_loading_gives_the_same_analysis(song, tmp_path):
    """`magicdance motion` analyses the song in a forked process while torch and the model load:
    the same analysis as in-process, a user mistake found there is the same one line, and a run
    abandoned half way leaves no process behind."""
    import multiprocessing

    from magicdance_core.audio.analysis import analyze_music
    from magicdance_core.audio.background import BackgroundAnalysis

    with BackgroundAnalysis(song) as pending:
        got = pending.result()
    want = analyze_music(song)
    assert np.array_equal(got.beats_s, want.beats_s) and np.array_equal(got.edge35, want.edge35)
    assert got.source_sha256 == want.source_sha256
    # a music.json is read by the pipeline itself: no process
    with BackgroundAnalysis(tmp_path / "music.json") as pending:
        assert pending.result() == tmp_path / "music.json"
    silent = tmp_path / "silent.wav"
    import wave

    with wave.open(str(silent), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(22050)
        w.writeframes(np.zeros(22050 * 3, np.int16).tobytes())
    with pytest.raises(BadInput, match="silent"):
        with BackgroundAnalysis(silent) as pending:
            pending.result()
    with BackgroundAnalysis(song):
        pass   # left before the result: the child is stopped, not waited for
    assert multiprocessing.active_children() == []


def test_sampling_uses_the_cores_other_processes_leave_free(monkeypatch):
    import os

    from magicdance_core import cpu_load
    from magicdance_core.motion import pipeline as P

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(cpu_load, "other_running_processes", lambda: 0)
    assert P.sampling_threads(2) == 2            # idle 2-core machine: both cores
    assert P.sampling_threads(1) == 1            # OMP_NUM_THREADS=1 is kept
    monkeypatch.setattr(cpu_load, "other_running_processes", lambda: 1)
    assert P.sampling_threads(2) == 1            # another job busy: spinning threads would stall
    monkeypatch.setattr(cpu_load, "other_running_processes", lambda: 6)
    assert P.sampling_threads(2) == 1


def test_a_busy_core_is_seen_as_taken():
    import subprocess
    import time

    from magicdance_core.cpu_load import other_running_processes

    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        assert other_running_processes() >= 1
    finally:
        spin.kill()
        spin.wait()


def test_the_dance_does_not_depend_on_the_thread_count(song, monkeypatch):
    from magicdance_core.motion import pipeline as P

    pipe = DancePipeline.from_pretrained()
    dances = []
    for n in (1, 2):
        monkeypatch.setattr(P, "sampling_threads", lambda available, n=n: n)
        dances.append(pipe(song, seed=3, steps=3))
    assert np.array_equal(dances[0].poses, dances[1].poses)
    assert np.array_equal(dances[0].trans, dances[1].trans)
