"""Beat alignment of a dance to its music, and the dance's own movement tempo.

Kinematic beats are the moments a dancer "hits": local minima of the joints'
speed. Two published scores compare them with the music's beats; both use a
Gaussian kernel exp(-d^2 / (2 sigma^2)) on the distance d, in frames, to the
nearest beat of the other kind, with sigma = 3 frames as both reference
implementations do. Our motions are 30 fps, so sigma = 3 frames = 0.1 s (the
AIST++ papers ran at 60 fps, where 3 frames is 0.05 s; EDGE reports Bailando's
score on 30 fps motions with the same sigma, which is the protocol used here).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import argrelextrema

from ._checks import as_joints, as_beats


def joint_speed(joints: np.ndarray) -> np.ndarray:
    """Mean over joints of the per-frame displacement |p[t+1]-p[t]| in metres/frame, shape (T-1,)."""
    j = as_joints(joints)
    return np.linalg.norm(np.diff(j, axis=0), axis=2).mean(axis=1)


def kinematic_beats_bailando(joints: np.ndarray, smooth_sigma: float = 5.0) -> np.ndarray:
    """Frames of Bailando's kinematic beats (Li et al. 2022).

    speed[t] = mean_j |p_j[t+1] - p_j[t]| (t = 0..T-2), smoothed with a 1-D
    Gaussian of sigma = 5 samples (scipy gaussian_filter1d, mode 'reflect'); the
    beats are its strict local minima (argrelextrema, np.less, order 1). A beat
    at index t is reported as frame t (the start of that displacement).
    """
    speed = joint_speed(joints)
    if len(speed) < 3:
        return np.zeros(0, dtype=np.int64)
    smooth = gaussian_filter1d(speed, smooth_sigma)
    return argrelextrema(smooth, np.less)[0].astype(np.int64)


def kinematic_beats_fact(joints: np.ndarray, fps: float = 30.0) -> np.ndarray:
    """Frames of FACT / AIST++'s kinematic beats (Li et al. 2021, google-research/mint).

    envelope[t] = sum_j |p_j[t] - p_j[t-1]| (envelope[0] = 0), no smoothing; the
    beats are local minima over a window of +-order frames (argrelextrema,
    np.less, order = 10 at 60 fps, i.e. order = round(10 * fps / 60) = 5 at 30 fps).
    """
    j = as_joints(joints)
    env = np.zeros(len(j))
    env[1:] = np.linalg.norm(np.diff(j, axis=0), axis=2).sum(axis=1)
    order = max(1, int(round(10 * fps / 60.0)))
    if len(env) < 3:
        return np.zeros(0, dtype=np.int64)
    return argrelextrema(env, np.less, order=order)[0].astype(np.int64)


def _gauss_nearest(src: np.ndarray, dst: np.ndarray, sigma: float) -> float:
    """mean over s in src of exp(-min_d |s - d|^2 / (2 sigma^2)); 0 if src or dst is empty."""
    if len(src) == 0 or len(dst) == 0:
        return 0.0
    d = np.abs(src[:, None].astype(float) - dst[None, :].astype(float)).min(axis=1)
    return float(np.exp(-(d ** 2) / (2.0 * sigma ** 2)).mean())


def music_beat_frames(beats_s, fps: float, n_frames: int) -> np.ndarray:
    """Music beat times (s) as frame numbers round(t * fps), keeping those inside the motion."""
    b = as_beats(beats_s)
    f = np.round(b * fps).astype(np.int64)
    return f[(f >= 0) & (f < n_frames)]


def beat_align_bailando(joints: np.ndarray, music_beats_s, fps: float = 30.0, sigma: float = 3.0) -> float:
    """Beat Align Score, Bailando variant (Li et al. 2022, lisiyao21/Bailando).

    BAS = 1/|B_m| * sum_{b in B_m} exp(-min_{k in B_k} (b - k)^2 / (2 sigma^2))

    averaged over the MUSIC beats B_m (frames, round(t*fps), those inside the
    motion), with B_k the kinematic beats of :func:`kinematic_beats_bailando`;
    distances in frames, sigma = 3 frames, motion at ``fps`` (30). In [0, 1];
    1 = every music beat has a motion beat on it. Rewards a dance that hits
    every beat (missing beats cost, extra motion beats do not).
    """
    j = as_joints(joints)
    mb = music_beat_frames(music_beats_s, fps, len(j))
    return _gauss_nearest(mb, kinematic_beats_bailando(j), sigma)


def beat_align_fact(joints: np.ndarray, music_beats_s, fps: float = 30.0, sigma: float = 3.0) -> float:
    """Beat Alignment Score, FACT / AIST++ variant (Li et al. 2021, google-research/mint).

    BAS = 1/|B_k| * sum_{k in B_k} exp(-min_{b in B_m} (k - b)^2 / (2 sigma^2))

    averaged over the MOTION (kinematic) beats B_k of :func:`kinematic_beats_fact`,
    each to its nearest music beat; distances in frames, sigma = 3 frames, motion
    at ``fps``. In [0, 1]; 0 when the motion has no kinematic beat. Rewards a
    dance whose every accent is on a beat (unaccented beats do not cost).
    """
    j = as_joints(joints)
    mb = music_beat_frames(music_beats_s, fps, len(j))
    return _gauss_nearest(kinematic_beats_fact(j, fps), mb, sigma)


def movement_tempo(joints: np.ndarray, fps: float = 30.0, min_bpm: float = 40.0, max_bpm: float = 240.0) -> float:
    """The dance's own tempo in beats per minute, from the autocorrelation of joint speed.

    speed = :func:`joint_speed` (mean joint displacement per frame), lightly
    smoothed (Gaussian, sigma = 1 frame), mean removed; its autocorrelation
    r(L) is searched for the highest peak at lags L with 60*fps/L in
    [min_bpm, max_bpm]; tempo = 60 * fps / L, refined by a parabola through the
    peak. A dancer who marks every beat gives the song's tempo; half-time
    dancing gives half of it. Returns 0.0 for a motion too short or too still.
    """
    speed = joint_speed(joints)
    lo = int(np.floor(60.0 * fps / max_bpm))
    hi = int(np.ceil(60.0 * fps / min_bpm))
    if len(speed) < 2 * hi or speed.std() < 1e-6:
        hi = min(hi, len(speed) // 2)
        if hi <= lo + 2 or speed.std() < 1e-6:
            return 0.0
    x = gaussian_filter1d(speed, 1.0)
    x = x - x.mean()
    n = len(x)
    spec = np.fft.rfft(x, 2 * n)
    ac = np.fft.irfft(spec * np.conj(spec))[:n]
    ac = ac / (ac[0] + 1e-12)
    # Normalise by the overlap so long lags are not penalised.
    ac = ac * n / (n - np.arange(n))
    lags = np.arange(max(lo, 1), min(hi, n - 2) + 1)
    if len(lags) == 0:
        return 0.0
    peaks = [L for L in lags if ac[L] >= ac[L - 1] and ac[L] >= ac[L + 1]]
    if not peaks:
        return 0.0
    best = max(peaks, key=lambda L: ac[L])
    # Prefer the shortest lag whose peak is nearly as strong (avoid picking 2x the period).
    for L in sorted(peaks):
        if ac[L] >= 0.85 * ac[best]:
            best = L
            break
    a, b, c = ac[best - 1], ac[best], ac[best + 1]
    den = a - 2 * b + c
    shift = 0.5 * (a - c) / den if abs(den) > 1e-12 else 0.0
    lag = best + float(np.clip(shift, -0.5, 0.5))
    return float(60.0 * fps / lag)


def beat_interval_tempo(joints: np.ndarray, fps: float = 30.0) -> float:
    """A second, simpler estimate of the dance's tempo: 60 / the median gap between its
    kinematic beats (:func:`kinematic_beats_bailando`), in beats per minute; 0.0 with fewer
    than three. Less smooth than :func:`movement_tempo` but free of its lag search, so the
    two agreeing is evidence the tempo is real.
    """
    kb = kinematic_beats_bailando(joints)
    if len(kb) < 3:
        return 0.0
    return float(60.0 * fps / np.median(np.diff(kb)))


def tempo_follows(song_bpm: float, movement_bpm: float, tol: float = 0.08) -> bool:
    """True when the dance moves at the song's tempo, half of it or twice it (within ``tol``).

    Dancers mark every beat, every other beat (half time) or every half beat; any of these
    follows the song. A movement tempo at 1/3, 3/4 or unrelated to the song's does not.
    """
    if song_bpm <= 0 or movement_bpm <= 0:
        return False
    return any(abs(movement_bpm / (song_bpm * k) - 1.0) <= tol for k in (0.5, 1.0, 2.0))
