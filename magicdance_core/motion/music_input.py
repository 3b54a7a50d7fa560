"""What the denoiser hears: a checkpoint's music features, built from a song's analysis.

``music_feature`` in a checkpoint's config names them:

- ``"edge35"``: EDGE's 35 baseline features (``MusicAnalysis.edge35``).
- ``"edge35+beat"``: those plus a 3-column *beat clock* computed from their own beat
  column: sin and cos of the phase within the current beat, and the beat's length in
  seconds. EDGE's only beat signal is a one-hot impulse every beat; a small model
  trained on an hour of dance did not learn to move in time with it (movement tempo
  uncorrelated with the song's, benchmarks/motion/RESULTS.md). A phase that
  ramps through every beat, and the tempo itself, make "move on the beat" a simple
  function of the input. It is computed from the beat column alone, so training
  windows (from the dataset's 35 features) and songs (from the analysis) get it the
  same way, and every frame of a song gets the same value in every overlapping window.
- ``"edge35+phase"``: those plus 4 columns of *metrical phase* from the analysis's own
  beats and downbeats (not from the beat column): sin/cos of the phase within the beat and
  sin/cos of the phase within the bar. The dataset stores the same columns per window
  (``phase``, computed from the beats the choreographer danced to), so training and sampling
  see one definition. Where a beat falls is then an input the network can read at every
  frame, and so is where the bar starts (downbeats: the choreographer's big moves).
- ``"jukebox"``: 4800 Jukebox features the caller supplies (``jukebox.py``).
"""

from __future__ import annotations

import numpy as np

BEAT_COLUMN = 34          # EDGE_COLUMNS[-1], "beat"
BEAT_CLOCK_DIM = 3
PHASE_DIM = 4
DIMS = {"edge35": 35, "edge35+beat": 35 + BEAT_CLOCK_DIM, "edge35+phase": 35 + PHASE_DIM, "jukebox": 4800}
# kinds computed here from a song's analysis (the others are supplied by the caller)
ANALYSIS_KINDS = ("edge35", "edge35+beat", "edge35+phase")


def beat_clock(beat_onehot: np.ndarray, fps: float = 30.0) -> np.ndarray:
    """(T,) beat one-hot -> (T,3) [sin 2πφ, cos 2πφ, beat length s], φ the phase in the beat.

    Beats before the first and after the last are extrapolated with the median beat
    interval, so a window (or song) starting mid-beat has a phase from frame 0. With
    fewer than two beats the tempo is unknown and the clock is all zeros.
    """
    x = np.asarray(beat_onehot, np.float64).reshape(-1)
    T = len(x)
    out = np.zeros((T, BEAT_CLOCK_DIM), np.float32)
    idx = np.flatnonzero(x > 0.5).astype(np.float64)
    if len(idx) < 2:
        return out
    step = float(np.median(np.diff(idx)))
    if step <= 0:
        return out
    n_before = int(np.ceil(idx[0] / step)) + 1
    n_after = int(np.ceil((T - idx[-1]) / step)) + 1
    beats = np.concatenate([idx[0] - step * np.arange(n_before, 0, -1), idx,
                            idx[-1] + step * np.arange(1, n_after + 1)])
    t = np.arange(T, dtype=np.float64)
    count = np.interp(t, beats, np.arange(len(beats), dtype=np.float64))  # beats elapsed, continuous
    k = np.clip(np.floor(count).astype(int), 0, len(beats) - 2)
    phase = count - np.floor(count)
    out[:, 0] = np.sin(2 * np.pi * phase)
    out[:, 1] = np.cos(2 * np.pi * phase)
    out[:, 2] = (beats[k + 1] - beats[k]) / fps
    return out


def _cycle_count(events_s, n_frames: int, fps: float) -> np.ndarray | None:
    """Cycles elapsed since the first event at every frame (continuous; negative before it),
    events extrapolated at their median spacing. None with fewer than two events."""
    ev = np.unique(np.asarray(events_s, np.float64).reshape(-1)) * fps
    ev = ev[np.isfinite(ev)]
    if len(ev) < 2:
        return None
    step = float(np.median(np.diff(ev)))
    if step <= 0:
        return None
    n_before = int(np.ceil(max(ev[0], 0.0) / step)) + 1
    n_after = int(np.ceil(max(n_frames - ev[-1], 0.0) / step)) + 1
    grid = np.concatenate([ev[0] - step * np.arange(n_before, 0, -1), ev, ev[-1] + step * np.arange(1, n_after + 1)])
    return np.interp(np.arange(n_frames, dtype=np.float64), grid, np.arange(len(grid), dtype=np.float64) - n_before)


def metrical_phase(beats_s, downbeats_s, n_frames: int, fps: float = 30.0) -> np.ndarray:
    """(n_frames, 4) [sin, cos] of the phase in the beat, then [sin, cos] of the phase in the bar.

    Phase 0 (sin 0, cos 1) is on a beat / downbeat. Without two downbeats the bar phase
    assumes 4 beats a bar from the first beat; without two beats everything is zero (no
    tempo, no phase), which is also what the model sees with the condition dropped out.
    """
    out = np.zeros((n_frames, PHASE_DIM), np.float32)
    beats = _cycle_count(beats_s if beats_s is not None else [], n_frames, fps)
    if beats is None:
        return out
    bars = _cycle_count(downbeats_s if downbeats_s is not None else [], n_frames, fps)
    if bars is None:
        bars = beats / 4.0   # a bar of 4 beats from the first beat
    for col, count in ((0, beats), (2, bars)):
        ang = 2 * np.pi * (count - np.floor(count))
        out[:, col] = np.sin(ang)
        out[:, col + 1] = np.cos(ang)
    return out


def add_beat_clock(edge35: np.ndarray, fps: float = 30.0) -> np.ndarray:
    """(..., T, 35) EDGE features -> (..., T, 38): each sequence gets its own beat clock."""
    f = np.asarray(edge35, np.float32)
    if f.shape[-1] != 35:
        raise ValueError(f"expected EDGE's 35 features, got {f.shape[-1]}")
    flat = f.reshape(-1, f.shape[-2], 35)
    clocks = np.stack([beat_clock(s[:, BEAT_COLUMN], fps) for s in flat])
    return np.concatenate([flat, clocks], axis=-1).reshape(f.shape[:-1] + (35 + BEAT_CLOCK_DIM,))


def analysis_features(kind: str, analysis) -> np.ndarray:
    """(T, DIMS[kind]) features of a song's MusicAnalysis (edge35, beats_s, downbeats_s, fps)."""
    fps = float(getattr(analysis, "fps", 30.0))
    edge35 = np.asarray(getattr(analysis, "edge35", np.zeros((0, 35))), np.float32)
    if kind == "edge35+phase":
        phase = metrical_phase(getattr(analysis, "beats_s", None), getattr(analysis, "downbeats_s", None), len(edge35), fps)
        return np.concatenate([edge35, phase], axis=-1)
    return features(kind, edge35, fps)


def features(kind: str, edge35: np.ndarray, fps: float = 30.0) -> np.ndarray:
    """The checkpoint's features of kind ``kind`` from EDGE's 35 (a song, or a batch of windows)."""
    if kind == "edge35":
        return np.asarray(edge35, np.float32)
    if kind == "edge35+beat":
        return add_beat_clock(edge35, fps)
    if kind == "edge35+phase":
        raise ValueError("edge35+phase needs the song's beats: use analysis_features, or the dataset's 'phase'")
    raise ValueError(f"music features {kind!r} are not computed from EDGE's 35 features")
