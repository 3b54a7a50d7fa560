"""The main job end to end: a short song + the shipped photo -> MP4 with music; resume; bad input."""

import json
from pathlib import Path

import numpy as np
import pytest

EX = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def short_song(tmp_path_factory):
    import soundfile

    from magicdance_core.audio.decode import load_audio

    y, sr = load_audio(EX / "song.ogg")
    p = tmp_path_factory.mktemp("song") / "short.wav"
    soundfile.write(p, y[: int(4.0 * sr)], sr)
    return p


@pytest.mark.slow
def test_dance_end_to_end_and_resume(cli, tmp_path, short_song):
    from magicdance_core.video.reader import probe

    out = tmp_path / "dance.mp4"
    args = ["dance", "--music", short_song, "--photo", EX / "astronaut.jpg", "-o", out, "--size", "256",
            "--no-scene", "--passes", "none", "--seed", "3"]
    r = cli(*args)
    assert r.returncode == 0, r.stderr
    info = probe(out)
    assert info.to_dict()["width"] == 256
    job = json.loads((tmp_path / "dance.job" / "job.json").read_text())
    assert job["status"] == "done"
    assert {s for s, v in job["stages"].items() if v["status"] == "done"} >= {"analyze", "photo", "motion", "animate", "mux"}
    for f in ("music.json", "motion.npz", "photo/mask.png", "photo/background.png", "video.mp4"):
        assert (tmp_path / "dance.job" / f).exists(), f
    mtime = out.stat().st_mtime_ns
    r2 = cli(*args)
    assert r2.returncode == 0 and r2.stderr.count("skipped") >= 5
    assert out.stat().st_mtime_ns == mtime
    # another seed: the motion and everything after it are redone, the analyses are not
    r3 = cli(*args[:-1], "4")
    assert r3.returncode == 0
    job = json.loads((tmp_path / "dance.job" / "job.json").read_text())
    assert "skipped" in r3.stderr and job["options"]["seed"] == 4


@pytest.mark.parametrize("case", ["missing", "corrupt", "tiny", "landscape", "notmp4"])
def test_dance_bad_input_one_line_nothing_written(cli, tmp_path, short_song, case):
    from PIL import Image

    photo = tmp_path / "p.png"
    out = tmp_path / "o.mp4"
    if case == "corrupt":
        photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    elif case == "tiny":
        Image.new("RGB", (10, 10), (200, 100, 50)).save(photo)
    elif case == "landscape":
        rng = np.random.default_rng(0)
        Image.fromarray(rng.integers(0, 255, (400, 600, 3), dtype=np.uint8)).save(photo)
    elif case == "notmp4":
        photo = EX / "astronaut.jpg"
        out = tmp_path / "o.avi"
    r = cli("dance", "--music", short_song, "--photo", photo, "-o", out, "--no-scene", "--passes", "none")
    assert r.returncode == 2, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "Traceback" not in r.stderr
    assert not out.exists()
    assert not list(tmp_path.glob("*.part*"))
