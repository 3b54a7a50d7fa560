"""`magicdance eval` end to end on a click track and two dances, one on the beat and one off it."""

import json

import numpy as np
import pytest

from magicdance_core.body.motion_file import Motion, save_motion
from magicdance_core.body.skeleton import JOINT_INDEX as J
from magicdance_core.body.skeleton import REST_PELVIS_HEIGHT


def click_track(path, seconds=6.0, period=0.5, sr=22050):
    import soundfile as sf

    y = np.zeros(int(sr * seconds))
    n = np.arange(2000)
    for b in np.arange(period, seconds - 0.1, period):
        i = int(b * sr)
        y[i:i + 2000] += 0.8 * np.sin(2 * np.pi * 1000 * n / sr) * np.exp(-n / 300)
    sf.write(str(path), y, sr)
    return path


def arm_dance(path, phase, frames=180):
    """Arms raised and lowered smoothly, stopping (speed minimum) at t = phase + 15k frames."""
    t = np.arange(frames)
    a = 0.5 * (1 - np.cos(np.pi * (t - phase) / 15.0))
    poses = np.zeros((frames, 24, 3))
    poses[:, J["left_shoulder"], 2] = 0.8 * a
    poses[:, J["right_shoulder"], 2] = -0.8 * a
    trans = np.zeros((frames, 3))
    trans[:, 1] = REST_PELVIS_HEIGHT
    save_motion(Motion(poses, trans), path)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("eval")
    return {
        "song": click_track(d / "click.wav"),
        "on": arm_dance(d / "on.npz", phase=0.3),
        "off": arm_dance(d / "off.npz", phase=7.8),
        "dir": d,
    }


@pytest.mark.slow  # music analysis in a subprocess: ~15-25 s on the 2-core CI machine
def test_eval_table_and_json(cli, files):
    out = files["dir"] / "report.json"
    r = cli("-q", "eval", files["on"], files["off"], "--music", files["song"], "--json", out)
    assert r.returncode == 0, r.stderr
    assert "on.npz" in r.stdout and "off.npz" in r.stdout and "BA-Bail" in r.stdout
    doc = json.loads(out.read_text())
    on, off = doc["motions"]
    assert doc["music"]["n_beats"] >= 10 and abs(doc["music"]["tempo_bpm"] - 120) < 3
    assert on["beat_align_bailando"] > 0.7 > 0.3 > off["beat_align_bailando"]
    assert on["beat_align_fact"] > off["beat_align_fact"]
    assert on["movement_tempo_bpm"] == pytest.approx(120, rel=0.05)
    assert on["foot_skate"] == 0.0 and on["pfc"] == 0.0
    assert doc["set"]["div_k"] > 0 and "fid_k" not in doc["set"]


def test_eval_with_reference_gives_fid(cli, files):
    r = cli("-q", "eval", files["on"], files["off"], "--reference", files["off"], files["on"])
    assert r.returncode == 0, r.stderr
    assert "fid_k=0.000" in r.stdout and "normalised by the reference set" in r.stdout


def test_eval_bad_input_one_line(cli, files, tmp_path):
    out = tmp_path / "r.json"
    r = cli("-q", "eval", tmp_path / "missing.npz", "--json", out)
    assert r.returncode == 2 and r.stderr.strip().startswith("error:") and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not out.exists()
    junk = tmp_path / "junk.wav"
    junk.write_text("not audio at all\n" * 10)
    r = cli("-q", "eval", files["on"], "--music", junk, "--json", out)
    assert r.returncode == 2 and "error:" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()
