"""Dataset builder: windows format, AIST++ layout, CLI, plus mocap retargeting and choreo CLI."""

import json

import numpy as np
import pytest

from magicdance_core.dataset.windows import STRIDE, WINDOW, WindowWriter, iter_shards, load_index, window_starts


def click_track(path, bpm=120.0, dur=12.0, sr=22050):
    import soundfile

    t = np.arange(int(dur * sr)) / sr
    y = 0.02 * np.sin(2 * np.pi * 220 * t)
    for b in np.arange(0.0, dur, 60.0 / bpm):
        i = int(b * sr)
        n = min(2000, len(y) - i)
        y[i:i + n] += 0.8 * np.exp(-np.arange(n) / 300.0) * np.sin(2 * np.pi * 1000 * np.arange(n) / sr)
    soundfile.write(str(path), y.astype(np.float32), sr)
    return path


def test_window_starts():
    assert window_starts(149) == []
    assert window_starts(150) == [0]
    assert window_starts(300) == [0, 75, 150]


def test_writer_roundtrip(tmp_path):
    w = WindowWriter(tmp_path, shard_size=3)
    T = 400
    rng = np.random.default_rng(0)
    n = w.add_song(rng.random((T, 35)), rng.random((T, 24, 3)), rng.random((T, 3)), rng.random((T, 4)), "house", {"x": 1})
    assert n == len(window_starts(T)) == 4
    w.close()
    idx = load_index(tmp_path)
    assert idx["windows"] == 4 and [s["windows"] for s in idx["shards"]] == [3, 1]
    shards = list(iter_shards(tmp_path))
    assert shards[0]["music"].shape == (3, WINDOW, 35) and shards[0]["poses"].shape == (3, WINDOW, 24, 3)
    assert shards[1]["start"][0] == 3 * STRIDE
    assert idx["styles"][shards[0]["style"][0]] == "house"


def test_aist_layout(tmp_path):
    from magicdance_core.body.aist import write_aist
    from magicdance_core.choreo.compose import choreograph
    from types import SimpleNamespace

    root = tmp_path / "aist"
    (root / "motions").mkdir(parents=True)
    (root / "wav").mkdir()
    click_track(root / "wav" / "mBR0.wav")
    beats = np.arange(0.0, 12.0, 0.5)
    a = SimpleNamespace(duration_s=12.0, beats_s=beats, downbeats_s=beats[::4], tempo_bpm=120.0)
    motion = choreograph(a, "hiphop", seed=1)
    write_aist(motion, root / "motions" / "gBR_sBM_cAll_d04_mBR0_ch01.pkl", fps=60)
    write_aist(motion, root / "motions" / "gBR_sBM_cAll_d04_mXX9_ch01.pkl")  # no music: skipped
    from magicdance_core.dataset.build import build_aist

    path = build_aist(root, tmp_path / "out")
    idx = json.loads(path.read_text())
    assert idx["source"] == "aist++" and idx["windows"] == len(window_starts(360)) and idx["skipped"]
    sh = next(iter_shards(tmp_path / "out"))
    assert sh["music"].shape[1:] == (150, 35) and np.isfinite(sh["music"]).all()
    # The motion survives the AIST++ round trip (60 fps written, 30 fps read back).
    assert np.abs(sh["trans"][0, :, [0, 2]] - motion.trans[:150, [0, 2]].T).max() < 0.02


def test_cli_bad_input(cli, tmp_path):
    r = cli("dataset", "aist", tmp_path, "--out", tmp_path / "o")
    assert r.returncode == 2 and r.stderr.startswith("error:") and "AIST++" in r.stderr and "Traceback" not in r.stderr
    r = cli("choreo", tmp_path / "nope.wav", "-o", tmp_path / "d.npz")
    assert r.returncode == 2 and "not found" in r.stderr
    song = click_track(tmp_path / "s.wav", dur=4.0)
    r = cli("choreo", song, "--style", "polka", "-o", tmp_path / "d.npz")
    assert r.returncode == 2 and "hiphop" in r.stderr and "waltz" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "d.npz").exists()


def test_cli_choreo_writes_motion(cli, tmp_path):
    from magicdance_core.body.motion_file import load_motion

    song = click_track(tmp_path / "s.wav", dur=6.0)
    out = tmp_path / "dance.npz"
    r = cli("-q", "choreo", song, "--style", "disco", "--seed", "5", "-o", out)
    assert r.returncode == 0, r.stderr
    m = load_motion(out)
    assert abs(m.duration_s - 6.0) < 0.1 and m.meta["style"] == "disco" and m.meta["seed"] == 5


def test_mocap_retarget():
    from magicdance_core.choreo.mocap import load_clip, mocap_moves

    walk = load_clip("walk")
    j = walk.joints
    assert (j[-1, 0, 2] - j[0, 0, 2]) > 0.8        # walks forward = SMPL +Z
    assert (j[:, 1, 0] - j[:, 0, 0]).mean() > 0.02  # left hip on +X
    assert abs(j[:, 20, 1].mean() - 0.95) < 0.15   # arms hang by the sides while walking
    assert (j[:, 10, 2] - j[:, 7, 2]).mean() > 0.03  # toes ahead of the ankles
    dance = load_clip("dance_b")
    assert j[:, [7, 8], 1].min() > 0.05 and dance.joints[:, 15, 1].mean() > 1.3
    assert len(mocap_moves()) >= 2


@pytest.mark.slow
def test_cli_dataset_build(cli, tmp_path):
    r = cli("-q", "dataset", "build", "--out", tmp_path / "ds", "--hours", "0.01", "--styles", "waltz", "--seed", "3")
    assert r.returncode == 0, r.stderr
    idx = load_index(tmp_path / "ds")
    assert idx["windows"] >= 10 and all(s["style"] == "waltz" for s in idx["songs"])
    sh = next(iter_shards(tmp_path / "ds"))
    assert np.all(sh["style"] == idx["styles"].index("waltz"))
    assert sh["contacts"].max() == 1.0 and np.isfinite(sh["poses"]).all()


@pytest.mark.slow
def test_dataset_build_dances_each_song_in_several_styles(tmp_path):
    from magicdance_core.dataset.build import build_generated

    build_generated(tmp_path / "ds", hours=0.03, seed=5, styles=["hiphop", "house", "ballet"], styles_per_song=3)
    idx = load_index(tmp_path / "ds")
    songs = idx["songs"]
    assert len(songs) >= 3 and len(songs) % 3 == 0
    first = songs[:3]
    assert len({s["style"] for s in first}) == 3                      # one song, three styles
    sh = next(iter_shards(tmp_path / "ds"))
    a, b = (sh["style"] == idx["styles"].index(s["style"]) for s in first[:2])
    n = min(a.sum(), b.sum())
    np.testing.assert_array_equal(sh["music"][a][:n], sh["music"][b][:n])  # the same music ...
    assert not np.allclose(sh["poses"][a][:n], sh["poses"][b][:n])         # ... danced differently
