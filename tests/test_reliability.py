"""Reliability: bad inputs get one line naming the flag before any work, outputs never
overwrite inputs, unwritable outputs are refused up front, killed jobs leave nothing behind."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from magicdance_core.checks import (check_distinct, check_input_file, check_number, check_output,
                                    check_seed)
from magicdance_core.errors import BadInput


def unwritable_dir(tmp_path: Path) -> Path:
    """A folder nobody can create files in: /sys as root (chmod does not stop root), else chmod 555."""
    if os.geteuid() == 0:
        return Path("/sys/kernel")
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    return d


# -- the shared checks ---------------------------------------------------------------------------
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, -1.0, 1e-6])
def test_check_number_refuses_out_of_range_and_non_finite(value):
    with pytest.raises(BadInput, match="--fps"):
        check_number(value, "--fps", 1, 240)


def test_check_number_accepts_and_converts():
    assert check_number("2.5", "--x", 0, 3) == 2.5
    assert check_number(3, "--n", 1, 4, integer=True) == 3
    with pytest.raises(BadInput, match="whole number"):
        check_number(2.5, "--n", integer=True)
    with pytest.raises(BadInput, match=r"--eta must be >= 0"):
        check_number(-3, "--eta", 0)


@pytest.mark.parametrize("seed", [-1, 2**64, 2**100])
def test_check_seed_beyond_64_bits(seed):
    with pytest.raises(BadInput, match="--seed"):
        check_seed(seed)
    assert check_seed(2**63 - 1) == 2**63 - 1


def test_check_output_refuses_inputs_folders_and_unwritable(tmp_path):
    song = tmp_path / "s.wav"
    song.write_bytes(b"x")
    with pytest.raises(BadInput, match="-o .* also the input --music"):
        check_output(song, "-o", inputs={"--music": song})
    with pytest.raises(BadInput, match="-o .* also the input --music"):
        check_output(tmp_path / "." / "s.wav", "-o", inputs={"--music": song})  # same file, other spelling
    with pytest.raises(BadInput, match="must name a file"):
        check_output(tmp_path, "-o")
    with pytest.raises(BadInput, match="must be a .mp4"):
        check_output(tmp_path / "v.mov", "-o", suffixes=(".mp4",))
    with pytest.raises(BadInput, match="-o: cannot write"):
        check_output(unwritable_dir(tmp_path) / "v.mp4", "-o")
    with pytest.raises(BadInput, match="is a file, not a folder"):
        check_output(song / "sub" / "v.mp4", "-o")
    assert check_output(tmp_path / "new" / "deeper" / "v.mp4", "-o") == tmp_path / "new" / "deeper" / "v.mp4"
    assert not (tmp_path / "new").exists()  # checking creates nothing
    with pytest.raises(BadInput, match="would overwrite the input"):
        check_output(tmp_path, "-o", folder=True, writes=["s.wav"], inputs={"PHOTO": song})
    with pytest.raises(BadInput, match="--json and --plot"):
        check_distinct({"--json": tmp_path / "a", "--plot": tmp_path / "a"})
    with pytest.raises(BadInput, match="--photo: photo not found"):
        check_input_file(tmp_path / "none.png", "--photo", "photo")


# -- fixtures: a few seconds of generated music, a tiny motion ----------------------------------
EX = Path(__file__).resolve().parents[1] / "examples"


def _song(path: Path, seconds: float = 3.0, bpm: float = 120.0) -> Path:
    """Clicks on the beat over a bass tone: a real WAV the analysis finds beats in."""
    import numpy as np
    import soundfile

    sr = 22050
    t = np.arange(int(seconds * sr)) / sr
    y = 0.2 * np.sin(2 * np.pi * 55 * t)
    for b in np.arange(0, seconds, 60 / bpm):
        i = int(b * sr)
        n = min(2000, y.size - i)
        y[i:i + n] += 0.8 * np.exp(-np.arange(n) / 300) * np.sin(2 * np.pi * 1000 * np.arange(n) / sr)
    soundfile.write(path, (y / np.abs(y).max() * 0.9).astype("float32"), sr)
    return path


@pytest.fixture(scope="module")
def song(tmp_path_factory) -> Path:
    return _song(tmp_path_factory.mktemp("song") / "s.wav")


def _motion(path: Path, frames: int = 30, fps: float = 30.0) -> Path:
    """A motion .npz written as any tool would (np.savez), so its fps is whatever it says."""
    import numpy as np

    poses = np.zeros((frames, 24, 3), np.float32)
    poses[:, 16, 2] = np.linspace(0, 1.2, frames)  # the left shoulder lifts the arm
    trans = np.tile(np.array([0, 0.9, 0], np.float32), (frames, 1))
    np.savez(path, fps=np.float32(fps), poses=poses, trans=trans)
    return path


def cli_main(*args):
    """The CLI in this process (no interpreter start-up): (exit code, stderr lines)."""
    import contextlib
    import io

    from magicdance_core.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main(["-q", *map(str, args)])
    return rc, err.getvalue().strip().splitlines()


def assert_one_line(rc, lines, *needles):
    assert rc == 2, lines
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    for n in needles:
        assert n in lines[0], lines


# -- outputs that are also inputs ---------------------------------------------------------------
def test_outputs_equal_to_inputs_are_refused_before_work(tmp_path, song):
    s = tmp_path / "s.wav"
    s.write_bytes(song.read_bytes())
    v = tmp_path / "v.mp4"
    v.write_bytes(song.read_bytes())  # a song in an .mp4 name, as users have
    x = _motion(tmp_path / "x.npz")
    before = {p: p.read_bytes() for p in (s, v, x)}
    cases = [
        (("analyze", s, "--json", s), "--json"),
        (("analyze", s, "--plot", s), "--plot"),
        (("eval", x, "--json", x), "--json"),
        (("convert", x, x), "OUT"),
        (("choreo", s, "-o", x, "--style", "house"), None),  # x is no input here: this one runs
        (("preview", x, "--music", v, "-o", v), "-o"),
        (("dance", "--music", v, "--photo", EX / "mannequin.png", "-o", v), "-o"),
    ]
    for args, flag in cases:
        if flag is None:
            continue
        rc, lines = cli_main(*args)
        assert_one_line(rc, lines, flag)
        assert "input" in lines[0] or "must be" in lines[0], lines
    assert {p: p.read_bytes() for p in before} == before
    assert not (tmp_path / "v.job").exists()


# -- outputs that cannot be written --------------------------------------------------------------
def test_unwritable_outputs_are_refused_before_work(tmp_path, song):
    ro = unwritable_dir(tmp_path)
    x = _motion(tmp_path / "x.npz")
    cases = [
        ("analyze", song, "--json", ro / "m.json"),
        ("analyze", song, "--json", tmp_path / "m.json", "--plot", ro / "p.png"),
        ("photo", EX / "mannequin.png", "-o", ro / "photo"),
        ("preview", x, "-o", ro / "p.mp4"),
        ("eval", x, "--json", ro / "e.json"),
        ("choreo", song, "-o", ro / "c.npz"),
        ("motion", song, "-o", ro / "m.npz"),
        ("dance", "--music", song, "--photo", EX / "mannequin.png", "-o", ro / "d.mp4"),
        ("passes", x, "-o", ro / "passes"),
        ("convert", x, ro / "x.bvh"),
    ]
    for args in cases:
        rc, lines = cli_main(*args)
        assert_one_line(rc, lines, "cannot write")
    assert not (tmp_path / "m.json").exists()  # nothing done before the refusal


def test_outputs_naming_a_folder_are_refused_and_leave_nothing(tmp_path, song):
    d = tmp_path / "d"
    d.mkdir()
    x = _motion(tmp_path / "x.npz")
    for args in [("analyze", song, "--json", d), ("preview", x, "-o", d), ("eval", x, "--json", d),
                 ("choreo", song, "-o", d), ("motion", song, "-o", d), ("convert", x, d),
                 ("dance", "--music", song, "--photo", EX / "mannequin.png", "-o", d)]:
        rc, lines = cli_main(*args)
        assert_one_line(rc, lines, "folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "x.npz"]  # no orphan d.features.npz
    assert list(d.iterdir()) == []


# -- values the tool accepted and then crashed on ----------------------------------------------------
def test_absurd_values_are_one_line_errors(tmp_path, song):
    slow = _motion(tmp_path / "slow.npz", fps=1e-6)
    x = _motion(tmp_path / "x.npz")
    rc, lines = cli_main("preview", slow, "-o", tmp_path / "p.mp4")
    assert_one_line(rc, lines, "fps")
    rc, lines = cli_main("passes", x, "-o", tmp_path / "passes", "--fps", "0.000001")
    assert_one_line(rc, lines, "--fps")
    for cmd in (("motion", song, "-o", tmp_path / "m.npz"),
                ("dance", "--music", song, "--photo", EX / "mannequin.png", "-o", tmp_path / "d.mp4"),
                ("choreo", song, "-o", tmp_path / "c.npz")):
        for seed in (str(2**64), str(2**70), "-1"):
            rc, lines = cli_main(*cmd, "--seed", seed)
            assert_one_line(rc, lines, "--seed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slow.npz", "x.npz"]


@pytest.mark.parametrize("flag,value", [("--travel-limit", "-1"), ("--travel-limit", "inf"), ("--yaw-limit", "nan"),
                                        ("--yaw-limit", "-5"), ("--passes", "bogus"), ("--size", "7"),
                                        ("--style", "polka")])
def test_dance_options_checked_before_the_song_is_analysed(tmp_path, song, flag, value):
    rc, lines = cli_main("dance", "--music", song, "--photo", EX / "mannequin.png", "-o", tmp_path / "d.mp4",
                         flag, value)
    assert_one_line(rc, lines, flag)
    assert not (tmp_path / "d.job").exists()


@pytest.mark.parametrize("flag,value", [("--eta", "-3"), ("--eta", "nan"), ("--steps", "0"), ("--guidance", "nan"),
                                        ("--guidance", "inf"), ("--choreo-guide", "2")])
def test_motion_sampling_options_checked_before_the_song_is_analysed(tmp_path, song, monkeypatch, flag, value):
    from magicdance_core.motion.pipeline import DancePipeline

    def no_work(*a, **k):
        raise AssertionError("the dance was generated before the options were checked")

    monkeypatch.setattr(DancePipeline, "__call__", no_work)
    rc, lines = cli_main("motion", song, "-o", tmp_path / "m.npz", flag, value)
    assert_one_line(rc, lines, flag)
    assert not (tmp_path / "m.npz").exists()


@pytest.mark.parametrize("flag,value", [("--steps", "0"), ("--steps", "100000"), ("--guidance", "nan"),
                                        ("--guidance", "-1")])
def test_dance_diffusion_options_named_by_their_flag(tmp_path, song, flag, value):
    # the flag is named even before the weights folder is looked at (none is given here)
    rc, lines = cli_main("dance", "--music", song, "--photo", EX / "mannequin.png", "-o", tmp_path / "d.mp4",
                         "--animator", "diffusion", f"{flag}={value}")
    assert_one_line(rc, lines, flag)
    assert not (tmp_path / "d.job").exists()


def test_other_commands_name_the_flag_of_a_bad_file_or_choice(tmp_path, song):
    x = _motion(tmp_path / "x.npz")
    rc, lines = cli_main("preview", x, "-o", tmp_path / "p.mp4", "--music", x)   # a motion given as the song
    assert_one_line(rc, lines, "--music")
    rc, lines = cli_main("passes", x, "-o", tmp_path / "pp", "--photo", song)    # a song given as the photo
    assert_one_line(rc, lines, "--photo")
    rc, lines = cli_main("choreo", song, "-o", tmp_path / "c.npz", "--style", "polka")
    assert_one_line(rc, lines, "--style", "house")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npz"]


def test_dance_checks_the_photo_before_the_music(tmp_path, song):
    bad = tmp_path / "p.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    rc, lines = cli_main("dance", "--music", song, "--photo", bad, "-o", tmp_path / "d.mp4")
    assert_one_line(rc, lines, "--photo")
    assert not (tmp_path / "d.job").exists()  # the song was not analysed
    notsong = tmp_path / "n.wav"
    notsong.write_bytes(b"RIFF....WAVEjunk" * 10)
    rc, lines = cli_main("dance", "--music", notsong, "--photo", EX / "mannequin.png", "-o", tmp_path / "d.mp4")
    assert_one_line(rc, lines, "--music")


def test_passes_keep_user_files_in_the_output_folder(tmp_path):
    x = _motion(tmp_path / "x.npz", frames=3)
    out = tmp_path / "out"
    (out / "densepose").mkdir(parents=True)
    (out / "densepose" / "notes.txt").write_text("mine")
    rc, lines = cli_main("passes", x, "-o", out, "--passes", "densepose", "--size", "64", "--no-video")
    assert_one_line(rc, lines, "notes.txt")
    assert (out / "densepose" / "notes.txt").read_text() == "mine"
    # the renderer's own folder is replaced on a re-render
    rc, lines = cli_main("passes", x, "-o", tmp_path / "own", "--passes", "densepose", "--size", "64", "--no-video")
    rc2, _ = cli_main("passes", x, "-o", tmp_path / "own", "--passes", "densepose", "--size", "64", "--no-video")
    assert rc == rc2 == 0 and len(list((tmp_path / "own" / "densepose").glob("*.png"))) == 3


def test_motion_frame_rates_that_cannot_round_trip_are_refused(tmp_path):
    from magicdance_core.body.bvh import read_bvh, write_bvh
    from magicdance_core.body.motion_file import Motion, load_motion

    fast = _motion(tmp_path / "fast.npz", fps=1e9)
    rc, lines = cli_main("convert", fast, tmp_path / "fast.bvh")
    assert_one_line(rc, lines, "fps")
    assert not (tmp_path / "fast.bvh").exists()
    import numpy as np

    with pytest.raises(BadInput, match="fps"):
        Motion(np.zeros((2, 24, 3)), np.zeros((2, 3)), fps=1e9)
    m = load_motion(_motion(tmp_path / "ok.npz", fps=1000.0))
    write_bvh(m, tmp_path / "ok.bvh")
    assert abs(read_bvh(tmp_path / "ok.bvh", fps=None).fps - 1000.0) < 1e-3  # the fastest allowed reads back
    text = (tmp_path / "ok.bvh").read_text().replace("Frame Time: 0.00100000", "Frame Time: 0.00000000")
    (tmp_path / "zero.bvh").write_text(text)
    with pytest.raises(BadInput):
        read_bvh(tmp_path / "zero.bvh")


def test_worker_answers_malformed_requests_with_bad_request(tmp_path):
    import io
    import json

    from magicdance_core.worker import protocol

    x = _motion(tmp_path / "x.npz")
    reqs = [{"op": "generate", "music": 123, "out": "o.npz"},
            {"op": "generate", "music": str(EX / "song.ogg"), "out": str(tmp_path / "o.npz"), "seed": 2**70},
            {"op": "generate", "music": str(EX / "song.ogg"), "out": str(tmp_path / "o.npz"), "steps": [10]},
            {"op": "passes", "motion": str(x), "out": str(tmp_path / "p"), "size": "big"},
            {"op": "passes", "motion": str(x), "out": str(tmp_path / "p"), "fps": 1e-6},
            {"op": "passes", "motion": str(x), "out": str(tmp_path / "p"), "video": "yes"},
            {"op": "passes", "motion": str(x), "out": str(tmp_path / "p"), "passes": [1, 2]},
            {"op": "analyze", "music": None, "out": str(tmp_path / "a.json")},
            {"op": None}, {"op": ["generate"]}]
    out = io.StringIO()
    protocol.serve(io.StringIO("".join(json.dumps(r) + "\n" for r in reqs)), out)
    msgs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [m["kind"] for m in msgs] == ["BadRequest"] * len(reqs), msgs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npz"]


def _junk(path: Path, data: bytes = b"RIFF....WAVEjunk" * 10) -> Path:
    path.write_bytes(data)
    return path


def test_songs_are_checked_by_their_flag_before_any_model_or_analysis(tmp_path, song, monkeypatch):
    import numpy as np
    import soundfile

    from magicdance_core import blender_process
    from magicdance_core.audio import analysis
    from magicdance_core.motion.pipeline import DancePipeline

    def no_work(*a, **k):
        raise AssertionError("heavy work started before the song was checked")

    monkeypatch.setattr(DancePipeline, "from_pretrained", no_work)
    monkeypatch.setattr(analysis, "analyze_samples", no_work)
    monkeypatch.setattr(analysis, "analyze_music", no_work)
    monkeypatch.setattr(blender_process, "run_action", no_work)
    bad = _junk(tmp_path / "n.wav")
    short = tmp_path / "t.wav"
    soundfile.write(short, np.zeros(2205, "float32"), 22050)   # 0.1 s
    x = _motion(tmp_path / "x.npz")
    for s_ in (bad, short):
        for args, flag in [(("motion", s_, "-o", tmp_path / "m.npz"), "SONG"),
                           (("choreo", s_, "-o", tmp_path / "c.npz"), "SONG"),
                           (("analyze", s_, "--json", tmp_path / "a.json"), "SONG"),
                           (("scene", s_, "-o", tmp_path / "s.blend"), "SONG"),
                           (("eval", x, "--music", s_), "--music"),
                           (("preview", x, "--music", s_, "-o", tmp_path / "p.mp4"), "--music")]:
            rc, lines = cli_main(*args)
            assert_one_line(rc, lines, f"error: {flag}: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n.wav", "t.wav", "x.npz"]


def test_files_given_to_flags_are_named_by_their_flag(tmp_path, song, monkeypatch):
    from magicdance_core import blender_process

    def no_blender(*a, **k):
        raise AssertionError("Blender started before the photo was checked")

    monkeypatch.setattr(blender_process, "run_action", no_blender)
    x = _motion(tmp_path / "x.npz")
    png = _junk(tmp_path / "n.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    cases = [
        (("scene", song, "-o", tmp_path / "s.blend", "--photo", png), "--photo"),
        (("motion", song, "-o", tmp_path / "m.npz", "--constraints", _junk(tmp_path / "c.json", b"{no")), "--constraints"),
        (("motion", song, "-o", tmp_path / "m.npz", "--checkpoint", _junk(tmp_path / "c.safetensors", b"x" * 64)),
         "--checkpoint"),
        (("passes", x, "-o", tmp_path / "pp", "--landmarks", _junk(tmp_path / "l.json", b"{}")), "--landmarks"),
        (("convert", x, tmp_path / "x.txt"), "OUT"),
        (("dance", "--music", song, "--photo", EX / "mannequin.png", "-o", tmp_path / "d.mp4", "--animator",
          "diffusion", "--animator-weights", tmp_path), "--animator-weights"),
        (("dance", "--music", song, "--photo", EX / "mannequin.png", "-o", f"{tmp_path}/new/"), "names a folder"),
    ]
    for args, flag in cases:
        rc, lines = cli_main(*args)
        assert_one_line(rc, lines, flag)
    assert not list(tmp_path.glob("*.blend")) and not (tmp_path / "pp").exists() and not (tmp_path / "new").exists()


def test_a_photo_with_nobody_is_refused_before_the_song_is_analysed(tmp_path, song):
    import numpy as np
    from PIL import Image

    from magicdance_core.jobs.pipeline import DanceOptions, run_dance

    noise = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (300, 200, 3), dtype=np.uint8)).save(noise)
    seen = []
    with pytest.raises(BadInput, match="no person found in --photo noise.png"):
        run_dance(song, noise, tmp_path / "d.mp4", DanceOptions(size=128, scene=False, generator="choreo"),
                  progress=lambda stage, f, m="": seen.append(stage))
    assert "photo" in seen and "analyze" not in seen   # the minute the song takes was not spent
    assert not (tmp_path / "d.job" / "music.json").exists()


def test_a_job_folder_never_replaces_an_input(tmp_path, song):
    from magicdance_core.jobs.pipeline import DanceOptions, check_dance_inputs

    job = tmp_path / "d.job"
    (job / "photo").mkdir(parents=True)
    me = job / "photo" / "me.png"
    me.write_bytes((EX / "mannequin.png").read_bytes())
    with pytest.raises(BadInput, match="--job .* replaces its photo/ folder, which holds the input --photo"):
        check_dance_inputs(song, me, tmp_path / "d.mp4", DanceOptions())
    lm = job / "music.json"   # a landmarks file where the job writes its music analysis
    lm.write_text("{}")
    with pytest.raises(BadInput, match="would overwrite the input --landmarks"):
        check_dance_inputs(song, EX / "mannequin.png", tmp_path / "d.mp4", DanceOptions(landmarks=str(lm)))
    assert me.exists() and lm.read_text() == "{}"


def test_sigterm_cancels_a_dance_like_ctrl_c(tmp_path):
    import json
    import signal
    import subprocess
    import sys
    import time

    song = _song(tmp_path / "s.wav", seconds=3.0)
    job = tmp_path / "d.job"
    p = subprocess.Popen([sys.executable, "-m", "magicdance_core.cli", "-q", "dance", "--music", str(song), "--photo",
                          str(EX / "mannequin.png"), "-o", str(tmp_path / "d.mp4"), "--size", "128", "--no-scene",
                          "--generator", "choreo"], stderr=subprocess.PIPE, text=True, env=_env())
    try:
        t0 = time.monotonic()
        while not (job / "job.lock").exists() and time.monotonic() - t0 < 120 and p.poll() is None:
            time.sleep(0.05)
        time.sleep(1.0)   # inside a stage
        assert p.poll() is None, "the dance ended before it could be stopped"
        p.send_signal(signal.SIGTERM)   # kill PID, timeout(1), a service manager
        _, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 143 and err.strip().splitlines() == ["error: cancelled"], (p.returncode, err[-2000:])
    d = json.loads((job / "job.json").read_text())
    # the signal lands inside a stage (that stage then says cancelled) or, on a loaded machine,
    # between two (every stage listed is done); never a stage left "running"
    assert d["status"] == "cancelled" and {v["status"] for v in d["stages"].values()} <= {"done", "cancelled"}
    assert not (job / "job.lock").exists() and _temps(tmp_path) == [] and not (tmp_path / "d.mp4").exists()


# -- batch ------------------------------------------------------------------------------------------
def test_a_batch_row_never_writes_over_another_rows_input(tmp_path, song):
    from magicdance_core.jobs.batch import check_rows, read_manifest

    a = tmp_path / "a.mp4"           # a song in an .mp4 name: row 1's music, row 2's video
    a.write_bytes(song.read_bytes())
    m = tmp_path / "m.csv"
    m.write_text(f"music,photo,out\na.mp4,{EX / 'mannequin.png'},x.mp4\n{song},{EX / 'mannequin.png'},a.mp4\n"
                 f"{song},{EX / 'mannequin.png'},y.mp4\n")
    rows = read_manifest(m, tmp_path)
    check_rows(rows, m, size=128)
    assert rows[0].error is None and rows[2].error is None
    assert rows[1].error and "is also the input music of row 1" in rows[1].error
    assert a.read_bytes() == song.read_bytes()



def test_batch_bad_cpus_and_unreachable_address_answer_at_once(tmp_path, song):
    import subprocess
    import sys

    m = tmp_path / "m.csv"
    m.write_text(f"music,photo\n{song},{EX / 'mannequin.png'}\n")
    rc, lines = cli_main("batch", m, "--num-cpus", "0")
    assert_one_line(rc, lines, "--num-cpus")
    # as a subprocess with a time limit: today this waits for a Ray that never answers
    r = subprocess.run([sys.executable, "-m", "magicdance_core.cli", "-q", "batch", str(m), "--address", "127.0.0.1:1"],
                       capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[1])
    lines = r.stderr.strip().splitlines()
    assert_one_line(r.returncode, lines, "--address 127.0.0.1:1")
    assert not list(tmp_path.glob("*.mp4"))


@pytest.mark.parametrize("value", ["-1", "0", "nan", "1.5"])
def test_batch_gpus_per_row_checked_before_ray_starts(tmp_path, song, value):
    m = tmp_path / "m.csv"
    m.write_text(f"music,photo\n{song},{EX / 'mannequin.png'}\n")
    rc, lines = cli_main("batch", m, f"--gpus-per-row={value}")
    assert_one_line(rc, lines, "--gpus-per-row")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.csv"]


def test_batch_diffusion_rows_checked_before_ray_starts(tmp_path, song):
    from magicdance_core.jobs.batch import check_row, read_manifest

    (tmp_path / "m.csv").write_text("music,photo,animator,animator_weights,steps,guidance\n"
                                    f"{song},{EX / 'mannequin.png'},diffusion,{tmp_path / 'none'},,\n"
                                    f"{song},{EX / 'mannequin.png'},diffusion,{tmp_path},0,\n"
                                    f"{song},{EX / 'mannequin.png'},puppet,,,7.5\n"
                                    f"{song},{EX / 'mannequin.png'},,,,\n")
    rows = read_manifest(tmp_path / "m.csv", tmp_path / "out")
    for r in rows:
        check_row(r)
    assert "weights folder not found" in rows[0].error
    assert "--steps" in rows[1].error
    assert "--guidance" in rows[2].error and "diffusion animator" in rows[2].error
    assert rows[3].error is None


def test_batch_rows_stay_inside_out_and_resume_honours_size_scene_passes(tmp_path):
    import json

    from magicdance_core.fileio import sha256_file
    from magicdance_core.jobs.batch import finished, read_manifest
    from magicdance_core.jobs.pipeline import DanceOptions, default_job_dir, motion_checkpoint_sha, motion_sampling_sha
    from dataclasses import asdict

    (tmp_path / "m.csv").write_text(f"music,photo,out\n{EX / 'song.ogg'},{EX / 'astronaut.jpg'},../../escape.mp4\n"
                                    f"{EX / 'song.ogg'},{EX / 'astronaut.jpg'},sub/ok.mp4\n")
    rows = read_manifest(tmp_path / "m.csv", tmp_path / "out")
    assert rows[0].error and "outside the output folder" in rows[0].error
    assert rows[1].error is None and rows[1].out == str((tmp_path / "out" / "sub" / "ok.mp4").resolve())

    row = rows[1]
    out = Path(row.out)
    out.parent.mkdir(parents=True)
    out.write_bytes(b"video")
    job = default_job_dir(out)
    job.mkdir()
    opt = DanceOptions(style=None, seed=0, size=128, scene=False, passes="")
    inputs = {"music": {"sha256": sha256_file(row.music)}, "photo": {"sha256": sha256_file(row.photo)}}
    if motion_checkpoint_sha(opt.generator):
        inputs["motion_checkpoint"] = {"sha256": motion_checkpoint_sha(opt.generator),
                                       "sampling_sha256": motion_sampling_sha(opt.generator)}
    (job / "job.json").write_text(json.dumps({"status": "done", "inputs": inputs, "options": asdict(opt)}))
    assert finished(row, size=128)
    assert not finished(row, size=256)                 # a 128 px video is not kept when 256 is asked
    assert not finished(row, size=128, scene=True)
    assert not finished(row, size=128, passes="densepose")


# -- killed processes (SIGKILL: how the add-on cancels) and what the next run does -----------------
def _temps(root: Path) -> list:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if ".tmp-" in p.name or ".part" in p.name)


def _env():
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]), OMP_NUM_THREADS="1")
    env.pop("MAGICDANCE_DEBUG", None)
    return env


def test_killed_worker_leaves_temps_that_the_next_render_removes(tmp_path):
    import json
    import signal
    import subprocess
    import sys

    x = _motion(tmp_path / "x.npz", frames=240)
    out = tmp_path / "passes"
    req = json.dumps({"op": "passes", "motion": str(x), "out": str(out), "passes": "densepose", "size": 128}) + "\n"
    w = subprocess.Popen([sys.executable, "-m", "magicdance_core.cli", "worker"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=_env())
    try:
        w.stdin.write(req)
        w.stdin.flush()
        for line in w.stdout:  # wait until it is rendering frames, then kill it as the add-on does
            msg = json.loads(line)
            assert msg["type"] == "progress", msg
            if msg["stage"] == "passes" and msg["fraction"] > 0.05:
                break
        w.send_signal(signal.SIGKILL)
    finally:
        w.wait(timeout=30)
    left = _temps(out)
    assert any(f".densepose.tmp-{w.pid}-" in t for t in left), left  # killed mid-render
    r = subprocess.run([sys.executable, "-m", "magicdance_core.cli", "worker"], input=req, capture_output=True,
                       text=True, env=_env(), timeout=300)
    assert json.loads(r.stdout.splitlines()[-1])["type"] == "result", r.stdout[-500:]
    assert _temps(out) == []
    assert len(list((out / "densepose").glob("*.png"))) == 240 and (out / "densepose.mp4").exists()


@pytest.mark.slow
def test_killed_dance_resumes_whole_with_no_temp_files(tmp_path):
    import json
    import signal
    import subprocess
    import sys
    import time

    from magicdance_core.video.reader import probe

    song = _song(tmp_path / "s.wav", seconds=3.0)
    out = tmp_path / "d.mp4"
    job = tmp_path / "d.job"
    cmd = [sys.executable, "-m", "magicdance_core.cli", "-q", "dance", "--music", str(song), "--photo",
           str(EX / "mannequin.png"), "-o", str(out), "--size", "128", "--no-scene"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env())
    try:
        t0 = time.monotonic()
        # kill it while the video is being encoded (its temp file exists), the worst moment
        while not list(job.glob(".video.*")) and time.monotonic() - t0 < 600 and p.poll() is None:
            time.sleep(0.02)
        assert p.poll() is None, "the dance ended before it could be killed"
        p.send_signal(signal.SIGKILL)
    finally:
        p.wait(timeout=30)
    assert _temps(job), "nothing to clean: the kill came too late"
    d = json.loads((job / "job.json").read_text())
    assert d["status"] == "running" and d["stages"]["animate"]["status"] == "running"
    assert (job / "job.lock").exists() and not out.exists()

    r = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    assert _temps(tmp_path) == [] and not (job / "job.lock").exists()
    d = json.loads((job / "job.json").read_text())
    assert d["status"] == "done" and "pid" not in d
    assert all(d["stages"][s]["status"] == "done" for s in ("analyze", "photo", "motion", "passes", "animate", "mux"))
    info = probe(out)
    assert info.has_audio and abs(info.n_frames - 90) <= 1 and info.width == 128 or info.height == 128
    assert len(list((job / "passes" / "densepose").glob("*.png"))) == info.n_frames


def test_failed_and_cancelled_jobs_do_not_stay_running(tmp_path, song):
    import json

    import numpy as np
    from PIL import Image

    from magicdance_core.errors import Cancelled, MagicDanceError
    from magicdance_core.jobs.pipeline import DanceOptions, run_dance

    opt = DanceOptions(size=128, scene=False, passes="", generator="choreo")

    def cancel(stage, fraction, message=""):
        if stage == "analyze":
            raise Cancelled("cancelled")

    with pytest.raises(Cancelled):
        run_dance(song, EX / "mannequin.png", tmp_path / "c.mp4", opt, progress=cancel)
    d = json.loads((tmp_path / "c.job" / "job.json").read_text())
    assert d["status"] == "cancelled" and d["stages"]["analyze"]["status"] == "cancelled"
    assert not (tmp_path / "c.job" / "job.lock").exists()

    noise = tmp_path / "noise.png"  # a photo with nobody in it: the photo stage fails
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (300, 200, 3), dtype=np.uint8)).save(noise)
    with pytest.raises(MagicDanceError):
        run_dance(song, noise, tmp_path / "f.mp4", opt)
    d = json.loads((tmp_path / "f.job" / "job.json").read_text())
    assert d["status"] == "failed" and d["error"] and d["stages"]["photo"]["status"] == "failed"


def test_a_job_folder_in_use_is_refused(tmp_path, song):
    import subprocess
    import sys

    from magicdance_core.jobs.pipeline import DanceOptions, run_dance

    job = tmp_path / "d.job"
    job.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (job / "job.lock").write_text(f"{holder.pid}\n")
        with pytest.raises(BadInput, match=f"in use by process {holder.pid}"):
            run_dance(song, EX / "mannequin.png", tmp_path / "d.mp4", DanceOptions(size=128, scene=False, passes=""))
    finally:
        holder.kill()
        holder.wait()


# -- help texts ---------------------------------------------------------------------------------------
def _subparsers(parser, prefix=""):
    import argparse

    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            for name, sub in a.choices.items():
                yield f"{prefix}{name}", sub
                yield from _subparsers(sub, f"{prefix}{name} ")


def test_every_option_has_help_and_names_real_commands():
    from magicdance_core.choreo.styles import STYLES
    from magicdance_core.cli import build_parser

    parser = build_parser()
    commands = {name for name, _ in _subparsers(parser)}
    missing = []
    for name, sub in _subparsers(parser):
        text = sub.format_help()
        for word in __import__("re").findall(r"'magicdance ([a-z]+)", text):
            assert word in commands, f"'{name} --help' names 'magicdance {word}', which does not exist"
        for a in sub._actions:
            if a.option_strings and a.help in (None, "") and "-h" not in a.option_strings:
                missing.append(f"{name} {a.option_strings[-1]}")
        if name in ("dance", "motion"):
            style = next(a for a in sub._actions if "--style" in a.option_strings)
            assert all(s in style.help for s in STYLES), (name, style.help)
    assert missing == []


# -- a fresh clone: the README's commands, nothing outside the repository ---------------------------
ROOT = Path(__file__).resolve().parents[1]


def test_readme_test_command_is_what_ci_runs():
    import re

    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1).splitlines()
    ci = [ln for ln in (ROOT / ".ci" / "run").read_text().splitlines() if ln and not ln.startswith(("#", "set ", "cd "))]
    assert ci == [block[1]] == ["bash scripts/setup.sh && .venv/bin/python -m pytest -q"]
    # what the tests need beyond pip's packages (the General MIDI soundfont) comes from setup.sh itself
    from magicdance_core.audio.midi_render import packaged_soundfont

    assert packaged_soundfont() is not None and "pretty_midi" in (ROOT / "scripts" / "setup.sh").read_text()


def test_nothing_in_the_repository_points_outside_it():
    import struct
    import subprocess

    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    if not files:
        pytest.skip("not a git checkout")
    bad = []
    for f in files:
        p = ROOT / f
        try:
            if p.suffix == ".safetensors":   # its JSON header (metadata: the training run's summary)
                with open(p, "rb") as fh:
                    text = fh.read(struct.unpack("<Q", fh.read(8))[0]).decode("utf-8", "replace")
            elif p.suffix in (".md", ".py", ".sh", ".toml", ".yaml", ".txt", ".json", ".cfg") or f == ".ci/run":
                text = p.read_text(encoding="utf-8")
            else:
                continue
        except (OSError, UnicodeDecodeError, struct.error):
            continue
        # (spelt in pieces so that this file does not find itself)
        for needle in ("/" + "work/", "../" + "shared", "shared" + " folder", "seeds" + " folder"):
            if needle in text:
                bad.append(f"{f}: {needle}")
    assert bad == []


def test_packaging_metadata_gives_no_deprecation_and_no_placeholder():
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert isinstance(meta["license"], str)   # a table ({text = ...}) prints setuptools' deprecation box
    manifest = tomllib.loads((ROOT / "blender_addon" / "blender_manifest.toml").read_text())
    site = manifest.get("website", "")
    assert not any(w in site for w in ("example", "placeholder", "TODO", "your"))
