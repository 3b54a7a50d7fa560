"""Beat sync: retime a generated dance so its accents land on the song's beats.

A dance's accents are its kinematic beats: the moments the body comes to rest between
moves, local minima of mean joint speed. A small diffusion model places them near the
beat but not on it (it also dances half time, which is fine). This post-process moves
each accent to the nearest music beat by warping time, the way an animator slides keys
in the dope sheet:

1. accents = minima of the joint speed (Gaussian σ 3 frames) that stand out from their
   neighbourhood (scipy ``find_peaks``, prominence 0.3 of the speed's std: the small
   dips inside a move are not accents);
2. the grid: every beat, or — when the dance's accents come every 1.5 beats or more, as a
   small model's mostly do — every other beat (the parity nearer to more accents), so the
   accents fall on a half-time groove instead of alternating 2- and 3-beat gaps;
3. each accent is paired with the nearest grid beat within half a grid step; a beat keeps
   only its closest accent;
4. the pairs, the first and last frame and every pinned (constrained) frame are the knots
   of a piecewise-linear time map t -> source time; knots that would play the motion
   faster or slower than ``max_rate`` are dropped (furthest-moved first);
5. the motion is resampled at the mapped times (slerped rotations), ``strength`` blending
   the map with the identity.

Pinned frames map to themselves, so constrained values stay exact, and a whole-number
source time returns that frame bit for bit. Off (strength 0) leaves the dance untouched.
Written here: librosa and scipy align sequences (DTW) but not sparse events under a rate limit.
"""

from __future__ import annotations

from typing import Optional

import numpy as np


def accents(joints: np.ndarray, sigma: float = 3.0, prominence: float = 0.3, min_gap: int = 4) -> np.ndarray:
    """Frames where the body comes to rest between moves (kinematic beats)."""
    from scipy.ndimage import gaussian_filter1d
    from scipy.signal import find_peaks

    j = np.asarray(joints, np.float64)
    if len(j) < 4:
        return np.zeros(0, int)
    speed = np.linalg.norm(np.diff(j, axis=0), axis=-1).mean(axis=-1)
    s = gaussian_filter1d(speed, sigma)
    peaks, _ = find_peaks(-s, distance=min_gap, prominence=prominence * float(s.std()) + 1e-9)
    return peaks.astype(int)


def beat_grid(beat_frames, accent_frames) -> np.ndarray:
    """The beats accents are moved onto: all of them, or every other one for a half-time dance."""
    B = np.sort(np.asarray(beat_frames, np.float64))
    K = np.asarray(accent_frames, np.float64)
    if len(B) < 4 or len(K) < 2:
        return B
    step = float(np.median(np.diff(B)))
    if float(np.median(np.diff(K))) < np.sqrt(2.0) * step:
        return B

    def near(G):  # accents within half a beat of one of G's beats
        return int((np.abs(K[:, None] - G[None, :]).min(axis=1) <= 0.5 * step).sum())

    return max((B[0::2], B[1::2]), key=near)


def time_map(num_frames: int, accent_frames, beat_frames, pinned: Optional[np.ndarray] = None,
             max_rate: float = 1.5) -> np.ndarray:
    """(T,) source time for every output frame: accents moved onto beats, pinned frames fixed."""
    T = int(num_frames)
    ident = np.arange(T, dtype=np.float64)
    B = np.sort(np.asarray(beat_frames, np.float64))
    B = B[(B >= 0) & (B <= T - 1)]
    K = np.asarray(accent_frames, np.float64)
    if T < 3 or len(B) < 2 or len(K) == 0:
        return ident
    half = 0.5 * float(np.median(np.diff(B)))
    near = B[np.clip(np.searchsorted(B, K), 1, len(B) - 1) - 1]
    nxt = B[np.clip(np.searchsorted(B, K), 0, len(B) - 1)]
    target = np.where(np.abs(near - K) <= np.abs(nxt - K), near, nxt)
    ok = np.abs(target - K) <= half
    best: dict = {}
    for k, b in zip(K[ok], target[ok]):       # a beat keeps its closest accent
        if b not in best or abs(k - b) < abs(best[b] - b):
            best[b] = k
    pin = np.flatnonzero(pinned) if pinned is not None else np.zeros(0, int)
    pinned_set = set(pin.tolist()) | {0, T - 1}
    knots = {float(p): (float(p), True) for p in pinned_set}           # target -> (source, fixed)
    for b, k in best.items():
        if b not in knots and all(abs(b - p) >= 1 for p in pin):
            knots[float(b)] = (float(k), False)
    t = np.array(sorted(knots))
    src = np.array([knots[x][0] for x in t])
    fixed = np.array([knots[x][1] for x in t])
    while True:  # drop free knots until the map is increasing and within the rate limit
        rate = np.diff(src) / np.diff(t)
        bad = np.flatnonzero((rate > max_rate) | (rate < 1.0 / max_rate))
        bad = [i for i in bad if not (fixed[i] and fixed[i + 1])]
        if not bad:
            break
        i = bad[0]
        cand = [c for c in (i, i + 1) if not fixed[c]]
        drop = max(cand, key=lambda c: abs(src[c] - t[c]))
        t, src, fixed = np.delete(t, drop), np.delete(src, drop), np.delete(fixed, drop)
    return np.interp(ident, t, src)


def beat_sync(poses, trans, contacts, joints, beats_s, fps: float = 30.0, strength: float = 1.0,
              pinned: Optional[np.ndarray] = None, max_rate: float = 1.5):
    """(poses, trans, contacts) retimed so accents fall on ``beats_s``; see the module doc."""
    from ..body.resample import sample_at

    T = len(poses)
    if strength <= 0 or beats_s is None or len(beats_s) < 2 or T < 3:
        return poses, trans, contacts
    acc = accents(joints)
    m = time_map(T, acc, beat_grid(np.asarray(beats_s, np.float64) * fps, acc), pinned, max_rate)
    ident = np.arange(T, dtype=np.float64)
    src = ident + float(min(strength, 1.0)) * (m - ident)
    if pinned is not None:
        src[np.asarray(pinned, bool)] = ident[np.asarray(pinned, bool)]
    return sample_at(poses, trans, src, contacts)
