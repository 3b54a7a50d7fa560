"""The job folder: cancelling mid-stage leaves no half files and the next run resumes there."""

import json
from pathlib import Path

import pytest

from magicdance_core.errors import Cancelled
from magicdance_core.jobs.folder import JobFolder, key_of
from magicdance_core.jobs.pipeline import DanceOptions, run_dance

EX = Path(__file__).resolve().parents[1] / "examples"


def test_job_folder_keys(tmp_path):
    j = JobFolder(tmp_path / "j")
    (tmp_path / "j" / "a.txt").write_text("x")
    j.mark("s", "done", key_of({"a": 1}))
    assert j.is_done("s", key_of({"a": 1}), ["a.txt"])
    assert not j.is_done("s", key_of({"a": 2}), ["a.txt"])
    assert not j.is_done("s", key_of({"a": 1}), ["b.txt"])
    (tmp_path / "j" / "job.json").write_text("{broken")
    assert JobFolder(tmp_path / "j").data["stages"] == {}  # a damaged job.json starts over


@pytest.mark.slow
def test_cancel_in_animate_then_resume(tmp_path):
    import soundfile

    from magicdance_core.audio.decode import load_audio

    y, sr = load_audio(EX / "song.ogg")
    song = tmp_path / "s.wav"
    soundfile.write(song, y[: int(2.0 * sr)], sr)
    out = tmp_path / "v.mp4"
    opt = DanceOptions(size=128, scene=False, passes="")

    def cancel_in_animate(stage, fraction, message=""):
        if stage == "animate" and fraction > 0.2:
            raise Cancelled("cancelled")

    with pytest.raises(Cancelled):
        run_dance(song, EX / "fireman.png", out, opt, progress=cancel_in_animate)
    job = json.loads((tmp_path / "v.job" / "job.json").read_text())
    assert job["stages"]["animate"]["status"] == "cancelled"
    assert job["stages"]["motion"]["status"] == "done"
    assert not out.exists() and not (tmp_path / "v.job" / "video.mp4").exists()
    assert not list(tmp_path.rglob("*.part*"))
    seen = []
    res = run_dance(song, EX / "fireman.png", out, opt, progress=lambda s, f, m="": seen.append((s, m)))
    assert out.exists()
    assert set(res.skipped) == {"analyze", "photo", "fit", "motion"} and "animate" in res.ran


def test_travel_limit_keeps_the_dancer_near_the_photo_position():
    import numpy as np

    from magicdance_core.animate.facing import limit_travel
    from magicdance_core.body.motion_file import Motion

    T = 120
    trans = np.zeros((T, 3), np.float32)
    trans[:, 0] = np.linspace(0.5, -0.3, T)      # walks 0.8 m sideways
    trans[:, 1] = 0.9
    m = Motion(poses=np.zeros((T, 24, 3)), trans=trans)
    out = limit_travel(m, 0.15)
    d = np.linalg.norm(out.trans[:, [0, 2]] - out.trans[0, [0, 2]], axis=1)
    assert np.allclose(out.trans[0], m.trans[0])              # frame 0 (camera alignment) unchanged
    assert d.max() <= 0.15 + 1e-6 and d.max() > 0.14          # bounded, but still travels
    assert np.allclose(out.trans[:, 1], m.trans[:, 1])        # height untouched
    assert np.all(np.diff(out.trans[:, 0]) <= 1e-7)           # still monotone: no reversal
    small = limit_travel(Motion(poses=np.zeros((T, 24, 3)), trans=trans * 0.02), 0.15)
    assert np.allclose(small.trans, trans * 0.02, atol=2e-4)  # small sways untouched


def test_generate_dance_generator_choice(tmp_path):
    import pytest

    from magicdance_core.errors import BadInput
    from magicdance_core.motion.api import generate_dance
    import soundfile as sf

    from tests.test_audio_support import click_track

    song = tmp_path / "clicks.wav"
    y, _, _ = click_track(120, 4, 4.0)
    sf.write(song, y, 22050)
    m = generate_dance(str(song), seed=1, generator="choreo")
    assert m.meta["model"].startswith("choreographer") and m.num_frames == 120
    with pytest.raises(BadInput, match="unknown generator"):
        generate_dance(str(song), generator="nope")
