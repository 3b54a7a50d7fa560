"""Beat tracker internals: tempo ramps, octave-jump resistance, and chunked features that must
equal librosa's whole-signal results (they keep 20-min songs under 1 GB)."""

from __future__ import annotations

import librosa
import mir_eval
import numpy as np
import pytest
import soxr

from magicdance_core.audio import analysis, beats


def _clicks(times, seconds, sr=22050, every=4):
    """Clicks at ``times``; every ``every``-th one louder and lower (a bar start)."""
    y = np.zeros(int(seconds * sr), np.float32)
    n = int(0.05 * sr)
    t = np.arange(n) / sr
    env = np.exp(-t * 70)
    for i, b in enumerate(times):
        f, amp = (700.0, 0.9) if i % every == 0 else (1500.0, 0.5)
        k = int(b * sr)
        y[k:k + n] += (amp * env * np.sin(2 * np.pi * f * t))[: max(0, min(n, y.size - k))].astype(np.float32)
    return y


def _ramp_beats(bpm0, bpm1, seconds, start=0.5):
    """Beat times of a tempo that moves linearly from bpm0 to bpm1 over ``seconds``."""
    out, t = [], start
    while t < seconds - 0.2:
        out.append(t)
        bpm = bpm0 + (bpm1 - bpm0) * t / seconds
        t += 60.0 / bpm
    return np.array(out)


def _scores(ref, est):
    ref, est = mir_eval.beat.trim_beats(np.asarray(ref)), mir_eval.beat.trim_beats(np.asarray(est))
    return mir_eval.beat.f_measure(ref, est), mir_eval.beat.continuity(ref, est)[3]


def test_follows_accelerando():
    """90 -> 130 BPM over 40 s: every beat tracked, no jump to a double- or half-tempo path."""
    ref = _ramp_beats(90, 130, 40.0)
    r = beats.track_beats(_clicks(ref, 40.0))
    f, amlt = _scores(ref, r.beats_s)
    assert f > 0.9 and amlt > 0.9
    assert r.tempo_curve_bpm.min() > 80 and r.tempo_curve_bpm.max() < 145
    assert r.tempo_curve_bpm[-5:].mean() - r.tempo_curve_bpm[:5].mean() > 25


def test_fast_ritardando_stays_fast():
    """190 -> 165 BPM: a fast song that slows down is not halved anywhere."""
    ref = _ramp_beats(190, 165, 30.0)
    r = beats.track_beats(_clicks(ref, 30.0))
    f, amlt = _scores(ref, r.beats_s)
    assert f > 0.9 and amlt > 0.9
    assert r.tempo_curve_bpm.min() > 150


def test_snap_beats_moves_to_clear_peaks_only():
    onset = np.zeros(100, np.float32)
    onset[[10, 33, 60]] = 5.0
    onset[48] = 0.1
    snapped = beats.snap_beats(np.array([12, 31, 47, 60]), onset)
    assert snapped.tolist() == [10, 33, 47, 60]


def test_chunked_onset_equals_librosa():
    rng = np.random.default_rng(0)
    y = (rng.standard_normal(22050 * 7) * np.repeat(rng.random(7 * 20), 22050 // 20 + 1)[: 22050 * 7]).astype(np.float32)
    ref = librosa.onset.onset_strength(y=y, sr=22050, hop_length=256, n_fft=1024)
    mel = beats.mel_power(y, 22050, 1024, 256, chunk_s=1.3)  # several chunks, uneven last one
    assert np.allclose(beats.onset_from_mel(mel, 22050, 256, 1024), ref, atol=1e-4)
    assert beats.onset_envelope(y).shape == ref.shape


def test_chunked_edge_features_equal_librosa(monkeypatch):
    y = _clicks(_ramp_beats(100, 120, 12.0), 12.0)
    y += 0.05 * np.sin(2 * np.pi * 440 * np.arange(y.size) / 22050).astype(np.float32)
    assert analysis.edge_start_bpm(y) == pytest.approx(float(librosa.feature.tempo(y=y, sr=22050)[0]))
    y15 = soxr.resample(y, 22050, analysis.EDGE_SR).astype(np.float32)
    feats = analysis.edge_baseline_features(y15, 120.0)
    assert np.allclose(feats[:, 0], librosa.onset.onset_strength(y=y15, sr=analysis.EDGE_SR), atol=1e-4)
    assert np.allclose(feats[:, 1:21], librosa.feature.mfcc(y=y15, sr=analysis.EDGE_SR, n_mfcc=20).T, atol=1e-3)
    # chroma_cens a few seconds at a time (as for songs over 4 min) = the whole-signal result.
    monkeypatch.setattr(analysis, "CENS_CHUNK_S", 3.0)
    whole = librosa.feature.chroma_cens(y=y15, sr=analysis.EDGE_SR, hop_length=512, n_chroma=12, tuning=0.0)
    assert np.allclose(analysis._chroma_cens(y15, tuning=0.0), whole, atol=1e-5)


def test_beat_tracker_kernels_are_cached_for_the_next_process(tmp_path):
    """librosa compiles one beat-tracker kernel with caching off: seconds of LLVM in every fresh
    process. Imported through jit_cache, it lands in numba's cache like the others."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    code = "from magicdance_core.audio.jit_cache import librosa_beat; librosa_beat()"
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=str(Path(__file__).resolve().parents[1]))
    assert list(tmp_path.rglob("*__beat_local_score*.nbi")), sorted(p.name for p in tmp_path.rglob("*.nbi"))
