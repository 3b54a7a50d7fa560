"""Tempo, beat and downbeat tracking.

librosa's tracker (Ellis' dynamic programme) is sound once it knows the tempo; what fails is
its tempo estimate: the autocorrelation of the onset envelope is as high at twice the beat
period as at the period itself, so fast songs (170-190 BPM) come out at half tempo. Here:

1. a local tempo curve from the product of the autocorrelation (peaks at the period and its
   multiples) and the Fourier magnitude (peaks at the tempo and its multiples) of the onset
   envelope in 8 s windows - the two agree only at the true tempo (Peeters' hybrid
   ACF x DFT idea) - smoothed over time with a Viterbi path so tempo changes are followed;
2. librosa's dynamic-programming beat tracker run with that time-varying tempo;
3. downbeats: for meters 3 and 4 and every phase, how strongly bar starts stand out in bass
   onsets and harmonic (chroma) change; the best (meter, phase) wins.

This is our own small tracker on top of librosa rather than madmom (non-commercial models) or
essentia (AGPL); benchmarks/beats/RESULTS.md compares them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SR = 22050
HOP = 256
FPS = SR / HOP  # onset-envelope frames per second (~86)
BPM_MIN, BPM_MAX = 50.0, 220.0  # range of the final tempo
GRID_MIN, GRID_MAX = 40.0, 300.0  # range tracked over time: a ramp may run past 220 at the double

WIN_S = 8.0  # tempo analysis window
STEP_S = 1.0  # tempo curve resolution


@dataclass
class BeatResult:
    tempo_bpm: float  # median local tempo
    beats_s: np.ndarray
    downbeats_s: np.ndarray
    meter: int
    tempo_curve_bpm: np.ndarray  # one value per STEP_S
    onset_env: np.ndarray  # at FPS


def mel_power(y: np.ndarray, sr: int, n_fft: int, hop: int, n_mels: int = 128, fmax=None,
              chunk_s: float = 60.0) -> np.ndarray:
    """``librosa.feature.melspectrogram(y=y, center=True, ...)`` computed a minute at a time.

    Same numbers (frames are cut from librosa's own zero padding), but the complex STFT of a
    20-minute song (~0.5 GB) is never held whole; only the small mel matrix is.
    """
    import librosa

    n_frames = 1 + y.size // hop
    yp = np.pad(np.asarray(y, np.float32), n_fft // 2)  # what center=True does (pad_mode "constant")
    step = max(1, int(chunk_s * sr / hop))
    out = []
    for f0 in range(0, n_frames, step):
        f1 = min(n_frames, f0 + step)
        seg = yp[f0 * hop: (f1 - 1) * hop + n_fft]
        out.append(librosa.feature.melspectrogram(y=seg, sr=sr, n_fft=n_fft, hop_length=hop, n_mels=n_mels,
                                                  fmax=fmax, center=False))
    return np.concatenate(out, axis=1)


def onset_from_mel(mel: np.ndarray, sr: int, hop: int, n_fft: int) -> np.ndarray:
    """librosa's onset strength from a mel power spectrogram, equal to onset_strength(y=...)
    (n_fft matters: it sets the frame-centring shift)."""
    import librosa

    return librosa.onset.onset_strength(S=librosa.power_to_db(mel), sr=sr, hop_length=hop, n_fft=n_fft).astype(np.float32)


def onset_envelope(y: np.ndarray, sr: int = SR) -> np.ndarray:
    # n_fft 1024 (not librosa's 2048): the flux peak lags the note onset by ~16 ms instead of ~25.
    return onset_from_mel(mel_power(y, sr, 1024, HOP), sr, HOP, 1024)


def _bpm_grid() -> np.ndarray:
    # 1.5 % steps: finer than the tempo wobble of real performances, coarse enough to be cheap.
    return np.exp(np.arange(np.log(GRID_MIN), np.log(GRID_MAX), np.log(1.015)))


def tempo_salience(onset: np.ndarray, fps: float = FPS):
    """Hybrid ACF x DFT tempo salience, shape (n_windows, n_bpm), and the bpm grid."""
    bpm = _bpm_grid()
    win = int(round(WIN_S * fps))
    step = int(round(STEP_S * fps))
    x = np.asarray(onset, dtype=np.float64)
    if x.size < win:
        x = np.pad(x, (0, win - x.size))
    starts = np.arange(0, max(1, x.size - win + 1), step)
    if starts[-1] + win < x.size:
        starts = np.append(starts, x.size - win)
    seg = np.lib.stride_tricks.sliding_window_view(x, win)[starts]  # views, no copy
    seg = seg - seg.mean(axis=1, keepdims=True)
    seg = seg * np.hanning(win)[None]
    # Autocorrelation by FFT, sampled at each candidate period (linear interpolation).
    nfft = 1 << int(np.ceil(np.log2(2 * win)))
    spec = np.fft.rfft(seg, nfft, axis=1)
    acf = np.fft.irfft(np.abs(spec) ** 2, nfft, axis=1)[:, :win]
    acf /= np.maximum(acf[:, :1], 1e-12)
    lags = 60.0 * fps / bpm
    i0 = np.floor(lags).astype(int)
    frac = lags - i0
    a = acf[:, i0] * (1 - frac) + acf[:, np.minimum(i0 + 1, win - 1)] * frac
    a = np.clip(a, 0, None)
    # Fourier magnitude at each candidate tempo.
    n = np.arange(win)
    basis = np.exp(-2j * np.pi * np.outer(n, bpm / 60.0 / fps))
    d = np.abs(seg @ basis)
    d /= np.maximum(d.max(axis=1, keepdims=True), 1e-12)
    sal = a * d
    sal /= np.maximum(sal.max(axis=1, keepdims=True), 1e-12)
    return sal, bpm, starts


PRIOR_CENTRE_BPM = 120.0
PRIOR_OCTAVES = 0.8  # broad: 180 BPM costs ~0.5 nats, easily paid by clear evidence


def tempo_prior(bpm) -> np.ndarray:
    """Log prior over tempo: people tap near 120 BPM, but 170-190 stays cheap."""
    return -0.5 * ((np.log2(np.asarray(bpm, float)) - np.log2(PRIOR_CENTRE_BPM)) / PRIOR_OCTAVES) ** 2


def tempo_curve(sal: np.ndarray, bpm: np.ndarray, jump_cost: float = 16.0) -> np.ndarray:
    """Viterbi path through the salience: gradual drift is cheap, jumps pay a fixed price."""
    logb = np.log2(bpm)
    # Only a weak prior here: the metrical level is chosen for the whole song by choose_octave.
    emit = np.log(sal + 1e-3) + 0.25 * tempo_prior(bpm)
    dist = np.abs(logb[:, None] - logb[None, :])  # octaves between states, per STEP_S
    step = np.log2(1.015)  # one grid step
    # Up to 3 grid steps (~4.5 %) per second costs little, so accelerandi/ritardandi are followed
    # step by step instead of snapping to the tempo octave that happens to be closer.
    trans = np.where(dist <= 3.01 * step, -0.3 * dist / step, -jump_cost)
    # A jump by a factor 2 or 4 is nearly always a switch of metrical level (the listener's
    # problem, not the music's): make it dearer than a real tempo change like 100 -> 140.
    octave_jump = (dist > 0.5) & (np.abs(dist - np.round(dist)) < 0.05)
    trans = np.where(octave_jump, -3 * jump_cost, trans)
    n, k = emit.shape
    score = emit[0].copy()
    back = np.zeros((n, k), dtype=np.int32)
    for t in range(1, n):
        cand = score[:, None] + trans
        back[t] = np.argmax(cand, axis=0)
        score = cand[back[t], np.arange(k)] + emit[t]
    path = np.zeros(n, dtype=np.int32)
    path[-1] = int(np.argmax(score))
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return bpm[path]


def choose_octave(sal: np.ndarray, bpm: np.ndarray, curve: np.ndarray) -> np.ndarray:
    """Re-decide the metrical level of the whole curve: x1/2, x1 or x2, by salience and prior.

    The Viterbi path keeps one level; which one is decided here once for the song, from the
    mean log salience along the scaled curve plus the tempo prior (evidence summed over time).
    """
    logb = np.log2(bpm)
    best = None
    for m in (0.25, 0.5, 1.0, 2.0, 4.0):
        c = curve * m
        if np.median(c) < BPM_MIN or np.median(c) > BPM_MAX:
            continue
        idx = np.abs(logb[None] - np.log2(c)[:, None]).argmin(axis=1)
        inside = (c >= GRID_MIN) & (c <= GRID_MAX)
        s = np.where(inside, np.log(sal[np.arange(c.size), idx] + 1e-3), np.log(1e-3))
        score = float(np.mean(s + tempo_prior(c)))
        if best is None or score > best[0]:
            best = (score, c)
    return best[1]


def snap_beats(beats: np.ndarray, onset: np.ndarray, max_frames: int = 3) -> np.ndarray:
    """Move each beat to the strongest onset within a few frames (~35 ms): the DP places beats on
    a quantised tempo grid, which lags or leads real onsets by tens of ms on fast songs."""
    out = beats.copy()
    clear = float(onset.mean())
    for i, b in enumerate(beats):
        lo, hi = max(0, b - max_frames), min(onset.size, b + max_frames + 1)
        j = lo + int(np.argmax(onset[lo:hi]))
        # Only to a clear peak (louder than the song's mean onset strength, and clearly above the
        # DP's frame): in a quiet stretch keep the DP's evenly spaced beat.
        if onset[j] > clear and onset[j] > 1.2 * onset[b]:
            out[i] = j
    # Keep order and a minimum gap.
    return np.unique(out)


def track_beats(y: np.ndarray, sr: int = SR, onset: np.ndarray | None = None) -> BeatResult:
    """Beats and downbeats of mono audio ``y`` at ``sr`` (22050 Hz expected)."""
    import librosa

    from .jit_cache import librosa_beat

    if onset is None:
        onset = onset_envelope(y, sr)
    sal, bpm, starts = tempo_salience(onset)
    curve = np.clip(choose_octave(sal, bpm, tempo_curve(sal, bpm)), BPM_MIN / 1.2, BPM_MAX * 1.2)
    # Window centres -> per-frame tempo for the DP tracker.
    centres = starts + WIN_S * FPS / 2
    frame_bpm = np.interp(np.arange(onset.size), centres, curve)
    _, beats = librosa_beat().beat_track(onset_envelope=onset, sr=sr, hop_length=HOP, bpm=frame_bpm,
                                       tightness=100, units="frames", trim=True)
    beats = snap_beats(beats, onset)
    beats_s = librosa.frames_to_time(beats, sr=sr, hop_length=HOP)
    meter, downbeats_s = estimate_downbeats(y, sr, beats_s)
    return BeatResult(
        tempo_bpm=float(np.median(60.0 / np.diff(beats_s))) if beats_s.size > 2 else float(np.median(curve)),
        beats_s=beats_s, downbeats_s=downbeats_s, meter=meter, tempo_curve_bpm=curve, onset_env=onset,
    )


def _beat_features(y, sr, beats_s):
    """Per beat: low-band (kick/bass) level, overall level, and chroma change (harmony moved here)."""
    import librosa

    hop = 512
    mel = mel_power(y, sr, 2048, hop, n_mels=64, fmax=sr / 2)
    low = np.log(mel[:5].sum(axis=0) + 1e-6)  # below ~170 Hz
    full = np.log(mel.sum(axis=0) + 1e-6)
    chroma = _chroma_above_250(y, sr, hop)
    bf = np.clip(librosa.time_to_frames(beats_s, sr=sr, hop_length=hop), 0, low.size - 1)
    # Level (not rise: the rise out of near-silence is huge for every hit) of low band and whole.
    low_acc = np.array([low[max(0, f - 1): f + 3].max() for f in bf])
    full_acc = np.array([full[max(0, f - 1): f + 3].max() for f in bf])
    bounds = np.concatenate([bf, [chroma.shape[1]]])
    seg = np.stack([chroma[:, bounds[i]: max(bounds[i] + 1, bounds[i + 1])].mean(axis=1) for i in range(bf.size)])
    seg /= np.linalg.norm(seg, axis=1, keepdims=True) + 1e-9
    change = np.concatenate([[0.0], 1 - np.sum(seg[1:] * seg[:-1], axis=1)])
    return low_acc, full_acc, change, seg


def _chroma_above_250(y, sr, hop, n_fft=2048, chunk_s=60.0):
    """Chroma of the spectrum above 250 Hz, a minute of STFT at a time (memory), with one tuning
    estimate from the middle minute. Above 250 Hz only: walking bass lines move within a bar,
    chords mostly change on the one."""
    import librosa

    low_bins = librosa.fft_frequencies(sr=sr, n_fft=n_fft) < 250
    n_frames = 1 + y.size // hop
    yp = np.pad(np.asarray(y, np.float32), n_fft // 2)
    step = max(1, int(chunk_s * sr / hop))

    def power(f0, f1):
        S = np.abs(librosa.stft(yp[f0 * hop: (f1 - 1) * hop + n_fft], n_fft=n_fft, hop_length=hop, center=False)) ** 2
        S[low_bins] = 0
        return S

    mid = max(0, n_frames // 2 - step // 2)
    tuning = librosa.estimate_tuning(S=power(mid, min(n_frames, mid + step)), sr=sr, n_fft=n_fft, bins_per_octave=12)
    return np.concatenate([librosa.feature.chroma_stft(S=power(f0, min(n_frames, f0 + step)), sr=sr, hop_length=hop,
                                                       tuning=tuning) for f0 in range(0, n_frames, step)], axis=1)


def _z(v):
    return (v - v.mean()) / (v.std() + 1e-9)


def estimate_downbeats(y, sr, beats_s, meters=(3, 4)):
    """(meter, downbeat times): the (meter, phase) whose bar starts stand out most."""
    beats_s = np.asarray(beats_s)
    if beats_s.size < 8:
        return 4, beats_s[::4]
    low, full, change, seg = _beat_features(y, sr, beats_s)
    # Chroma change stays unnormalised (0..1): music without harmony moves must not get a vote.
    evidence = 0.3 * (_z(low) + 0.5 * _z(full)) + 10.0 * change
    best = None
    for m in meters:
        for p in range(m):
            on = evidence[p::m].mean()
            off = np.delete(evidence, np.arange(p, evidence.size, m)).mean()
            # Bars repeat: chroma of a beat resembles the one a bar later.
            sim = np.mean(np.sum(seg[m:] * seg[:-m], axis=1))
            score = (on - off) + 2.0 * sim
            if best is None or score > best[0]:
                best = (score, m, p)
    _, m, p = best
    return m, beats_s[p::m]
