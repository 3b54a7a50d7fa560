"""Music analysis: tempo, beats, downbeats, meter, EDGE features and music.json round trips."""

from __future__ import annotations

import json
import math

import mir_eval
import numpy as np
import pytest
import soundfile

from magicdance_core.audio.analysis import EDGE_COLUMNS, MusicAnalysis, analyze_music, analyze_samples, features_path
from magicdance_core.errors import BadInput
from test_audio_support import click_track


def _f(ref, est):
    return mir_eval.beat.f_measure(np.asarray(ref), np.asarray(est))


@pytest.fixture(scope="module")
def click120(tmp_path_factory):
    y, beats, downs = click_track(120, 4, 14.0)
    p = tmp_path_factory.mktemp("a") / "click120.wav"
    soundfile.write(p, y, 22050)
    return p, beats, downs, analyze_music(p)


def test_tempo_and_beats(click120):
    _, beats, _, a = click120
    assert a.tempo_bpm == pytest.approx(120, rel=0.02)
    assert _f(beats, a.beats_s) > 0.95
    # Beats land on the clicks, not just at the right rate.
    d = np.abs(a.beats_s[:, None] - beats[None]).min(axis=1)
    assert np.median(d) < 0.03


def test_downbeats_on_accents(click120):
    _, _, downs, a = click120
    assert a.meter == 4
    assert _f(downs, a.downbeats_s) > 0.9


def test_three_four():
    y, beats, downs = click_track(100, 3, 15.0)
    a = analyze_samples(y, 22050)
    assert a.meter == 3
    assert a.tempo_bpm == pytest.approx(100, rel=0.02)
    assert _f(beats, a.beats_s) > 0.95
    assert _f(downs, a.downbeats_s) > 0.9


def test_fast_tempo_not_halved():
    """180 BPM: librosa's default tempo estimate would say 90; we must track every beat."""
    y, beats, _ = click_track(180, 4, 12.0)
    a = analyze_samples(y, 22050)
    assert a.tempo_bpm == pytest.approx(180, rel=0.02)
    assert _f(beats, a.beats_s) > 0.95


def test_frames_and_edge_features(click120):
    _, beats, _, a = click120
    T = math.ceil(a.duration_s * 30 - 1e-9)
    assert a.duration_s == pytest.approx(14.0, abs=1e-3)
    assert a.edge35.shape == (T, 35) and a.edge35.dtype == np.float32
    for v in (a.onset_env, a.rms, a.beat_onehot, a.downbeat_onehot):
        assert v.shape == (T,)
    assert np.isfinite(a.edge35).all()
    assert len(EDGE_COLUMNS) == 35
    # Column 0: onset envelope, peaks at the clicks.
    onset = a.edge35[:, 0]
    click_frames = np.round(beats * 30).astype(int)
    near = np.maximum.reduce([onset[np.clip(click_frames + k, 0, len(onset) - 1)] for k in (-1, 0, 1)])
    assert near.mean() > 4 * onset.mean()
    # 21..32: chroma_cens is unit-norm per frame, in [0, 1].
    chroma = a.edge35[:, 21:33]
    assert chroma.min() >= 0 and chroma.max() <= 1.0 + 1e-5
    # 33, 34: one-hot onset peaks and EDGE's own beats, both on the clicks (within a frame).
    for col in (33, 34):
        hot = np.flatnonzero(a.edge35[:, col])
        assert set(np.unique(a.edge35[:, col])) <= {0.0, 1.0}
        assert len(hot) >= 0.8 * len(beats)
        assert np.abs(hot[:, None] - click_frames[None]).min(axis=1).max() <= 1
    # Our own beat one-hot sits where our beats are.
    assert np.array_equal(np.flatnonzero(a.beat_onehot), np.unique(np.round(a.beats_s * 30).astype(int)))
    # RMS is loud on clicks, quiet between.
    assert a.rms[click_frames].mean() > 3 * a.rms[click_frames + 7].mean()


def test_json_round_trip(click120, tmp_path):
    _, _, _, a = click120
    out = a.to_json(tmp_path / "music.json")
    doc = json.loads(out.read_text())
    for k in ("duration_s", "sample_rate", "tempo_bpm", "beats_s", "downbeats_s", "meter"):
        assert k in doc
    assert doc["sample_rate"] == 22050
    assert features_path(out).exists()
    b = MusicAnalysis.from_json(out)
    assert b.tempo_bpm == pytest.approx(a.tempo_bpm, abs=1e-3)
    assert np.allclose(b.beats_s, a.beats_s, atol=1e-4)
    assert np.array_equal(b.edge35, a.edge35) and np.array_equal(b.rms, a.rms)
    assert not list(tmp_path.glob("*.part*"))


def test_from_json_bad(tmp_path):
    p = tmp_path / "music.json"
    p.write_text("{not json")
    with pytest.raises(BadInput):
        MusicAnalysis.from_json(p)
    p.write_text(json.dumps({"duration_s": 1.0}))
    with pytest.raises(BadInput):
        MusicAnalysis.from_json(p)


def test_silence_rejected():
    with pytest.raises(BadInput, match="silent"):
        analyze_samples(np.zeros(22050 * 5, np.float32), 22050)
