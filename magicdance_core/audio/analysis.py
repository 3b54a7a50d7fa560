"""Music analysis at 30 fps: tempo, beats, downbeats, onset strength, RMS, EDGE's 35-dim features.

``analyze_music(path)`` decodes once at 22050 Hz (beat tracking) and resamples that to
15360 Hz for EDGE's baseline features (15360 / hop 512 = 30 fps). Everything per-frame has
T = ceil(duration * 30) rows; frame t covers time t / 30 s.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

import numpy as np

from ..errors import BadInput
from ..fileio import atomic_path, sha256_file

FPS = 30
EDGE_SR = FPS * 512  # 15360 Hz: EDGE's rate, so hop 512 lands exactly on 30 fps frames
EDGE_HOP = 512
TRACK_SR = 22050
EDGE_COLUMNS = ["onset_env"] + [f"mfcc_{i}" for i in range(20)] + [f"chroma_cens_{i}" for i in range(12)] + ["onset_peak", "beat"]

PathLike = Union[str, os.PathLike]


@dataclass
class MusicAnalysis:
    duration_s: float
    sample_rate: int  # of the source file
    tempo_bpm: float
    beats_s: np.ndarray
    downbeats_s: np.ndarray
    meter: int = 4
    onset_env: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # (T,) normalised to [0,1]
    rms: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # (T,) linear RMS
    edge35: np.ndarray = field(default_factory=lambda: np.zeros((0, 35), np.float32))  # (T,35)
    beat_onehot: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # (T,) our beats
    downbeat_onehot: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    source: str = ""
    source_sha256: str = ""
    fps: int = FPS

    @property
    def n_frames(self) -> int:
        return int(math.ceil(self.duration_s * self.fps - 1e-9))

    def to_json(self, path: PathLike) -> Path:
        """Write music.json and the per-frame features ``<stem>.features.npz`` beside it (atomic)."""
        path = Path(path)
        feats = features_path(path)
        doc = {
            "duration_s": round(float(self.duration_s), 6),
            "sample_rate": int(self.sample_rate),
            "tempo_bpm": round(float(self.tempo_bpm), 3),
            "meter": int(self.meter),
            "beats_s": [round(float(b), 4) for b in self.beats_s],
            "downbeats_s": [round(float(b), 4) for b in self.downbeats_s],
            "fps": self.fps,
            "n_frames": self.n_frames,
            "features": feats.name,
            "feature_columns": {"edge35": EDGE_COLUMNS},
            "source": self.source,
            "source_sha256": self.source_sha256,
        }
        with atomic_path(feats) as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, onset_env=self.onset_env.astype(np.float32), rms=self.rms.astype(np.float32),
                                    edge35=self.edge35.astype(np.float32), beat_onehot=self.beat_onehot.astype(np.float32),
                                    downbeat_onehot=self.downbeat_onehot.astype(np.float32))
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(doc, indent=1))
        return path

    @classmethod
    def from_json(cls, path: PathLike) -> "MusicAnalysis":
        path = Path(path)
        try:
            doc = json.loads(path.read_text())
            a = cls(duration_s=float(doc["duration_s"]), sample_rate=int(doc["sample_rate"]),
                    tempo_bpm=float(doc["tempo_bpm"]), beats_s=np.asarray(doc["beats_s"], float),
                    downbeats_s=np.asarray(doc["downbeats_s"], float), meter=int(doc.get("meter", 4)),
                    source=doc.get("source", ""), source_sha256=doc.get("source_sha256", ""),
                    fps=int(doc.get("fps", FPS)))
        except FileNotFoundError:
            raise BadInput(f"music analysis not found: {path}") from None
        except (ValueError, KeyError, TypeError) as e:
            raise BadInput(f"not a music.json: {path} ({e})") from None
        feats = path.parent / doc.get("features", features_path(path).name)
        if feats.exists():
            try:
                with np.load(feats) as z:
                    for k in ("onset_env", "rms", "edge35", "beat_onehot", "downbeat_onehot"):
                        if k in z:
                            setattr(a, k, z[k])
            except (ValueError, OSError) as e:
                raise BadInput(f"corrupt music features: {feats} ({e})") from None
            if a.edge35.shape != (a.n_frames, 35):
                raise BadInput(f"music features {feats.name} have shape {a.edge35.shape}, expected ({a.n_frames}, 35)")
        return a


def features_path(json_path: PathLike) -> Path:
    p = Path(json_path)
    stem = p.name[:-5] if p.name.endswith(".json") else p.name
    return p.with_name(stem + ".features.npz")


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    """Crop or edge-pad the first axis to n rows (librosa gives 1 + len//hop frames)."""
    if x.shape[0] >= n:
        return x[:n]
    pad = [(0, n - x.shape[0])] + [(0, 0)] * (x.ndim - 1)
    return np.pad(x, pad, mode="edge" if x.shape[0] else "constant")


def edge_baseline_features(y15360: np.ndarray, start_bpm: float) -> np.ndarray:
    """EDGE's 35-dim baseline features of mono audio at 15360 Hz, one row per 1/30 s frame.

    Same steps and parameters as EDGE's data/audio_extraction/baseline_features.py: onset
    envelope, 20 MFCC, 12 chroma_cens (hop 512), onset-peak one-hot from onset_detect, beat
    one-hot from beat_track(start_bpm, tightness=100). Returns (1 + len//512, 35) float32.
    """
    import librosa

    from .beats import mel_power, onset_from_mel
    from .jit_cache import librosa_beat

    sr = EDGE_SR
    # EDGE's onset_strength(y) and mfcc(y) both start from the same 2048/512 mel spectrogram;
    # computed once and a minute at a time (same numbers, far less memory on long songs).
    mel = mel_power(y15360, sr, 2048, EDGE_HOP)
    env = onset_from_mel(mel, sr, EDGE_HOP, 2048)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), sr=sr, n_mfcc=20).T
    del mel
    chroma = _chroma_cens(y15360).T
    peaks = librosa.onset.onset_detect(onset_envelope=env.flatten(), sr=sr, hop_length=EDGE_HOP)
    peak_onehot = np.zeros_like(env, dtype=np.float32)
    peak_onehot[peaks] = 1.0
    _, beat_idx = librosa_beat().beat_track(onset_envelope=env, sr=sr, hop_length=EDGE_HOP,
                                          start_bpm=start_bpm, tightness=100)
    beat_onehot = np.zeros_like(env, dtype=np.float32)
    beat_onehot[beat_idx] = 1.0
    return np.concatenate([env[:, None], mfcc, chroma, peak_onehot[:, None], beat_onehot[:, None]], axis=-1).astype(np.float32)


CENS_DIRECT_S = 240.0  # up to 4 min: librosa's chroma_cens on the whole song, as EDGE does
CENS_CHUNK_S = 60.0
CENS_MARGIN = 64  # frames each side: > CQT filter half-length at C1 (~16 frames) + CENS smoothing (20)


def _chroma_cens(y15360: np.ndarray, tuning=None) -> np.ndarray:
    """librosa.feature.chroma_cens at 15360 Hz / hop 512 (12, frames); long songs a minute at a
    time with overlapping margins (the CQT of 20 min needs ~1.6 GB whole), with one tuning
    estimate from the middle minute instead of the whole song."""
    import librosa

    sr, hop = EDGE_SR, EDGE_HOP
    if y15360.size <= CENS_DIRECT_S * sr and tuning is None:
        return librosa.feature.chroma_cens(y=y15360, sr=sr, hop_length=hop, n_chroma=12)
    n_frames = 1 + y15360.size // hop
    step = int(CENS_CHUNK_S * sr / hop)
    if tuning is None:
        mid = max(0, y15360.size // 2 - step * hop // 2)
        tuning = librosa.estimate_tuning(y=y15360[mid: mid + step * hop], sr=sr, bins_per_octave=12)
    out = []
    for f0 in range(0, n_frames, step):
        f1 = min(n_frames, f0 + step)
        a = max(0, f0 - CENS_MARGIN)
        seg = y15360[a * hop: (f1 + CENS_MARGIN) * hop]
        c = librosa.feature.chroma_cens(y=seg, sr=sr, hop_length=hop, n_chroma=12, tuning=tuning)
        out.append(c[:, f0 - a: f0 - a + (f1 - f0)])
    return np.concatenate(out, axis=1)


def edge_start_bpm(y22050: np.ndarray) -> float:
    """EDGE's fallback start tempo for music outside AIST++: librosa's tempo of the 22050 Hz load."""
    import librosa

    from .beats import mel_power, onset_from_mel

    # = librosa.feature.tempo(y=y22050, sr=22050), with the onset envelope computed in chunks.
    # Its mean tempogram is summed over chunks too: the whole one is ~0.6 GB for a 10-min song.
    hop = 512
    env = onset_from_mel(mel_power(y22050, TRACK_SR, 2048, hop), TRACK_SR, hop, 2048)
    win = int(librosa.time_to_frames(8.0, sr=TRACK_SR, hop_length=hop))  # tempo()'s ac_size
    padded = np.pad(env, win // 2, mode="linear_ramp", end_values=[0, 0])  # tempogram's centring
    total = np.zeros(win)
    for f0 in range(0, env.size, 4096):
        f1 = min(env.size, f0 + 4096)
        tg = librosa.feature.tempogram(onset_envelope=padded[f0: f1 - 1 + win], sr=TRACK_SR, hop_length=hop,
                                       win_length=win, center=False)
        total += tg.sum(axis=1)
    mean_tg = (total / env.size)[:, None]
    return float(librosa.feature.tempo(tg=mean_tg, sr=TRACK_SR, hop_length=hop, aggregate=None)[0])


def _onehot(times: np.ndarray, n: int, fps: int = FPS) -> np.ndarray:
    v = np.zeros(n, np.float32)
    idx = np.round(np.asarray(times) * fps).astype(int)
    v[idx[(idx >= 0) & (idx < n)]] = 1.0
    return v


def analyze_samples(y: np.ndarray, sr: int, source_sr: Optional[int] = None, progress=None) -> MusicAnalysis:
    """Analyse mono float32 audio ``y`` at 22050 Hz (see :func:`analyze_music`)."""
    import librosa
    import soxr

    from .beats import track_beats
    from .decode import is_silent

    report = progress or (lambda *a: None)
    if sr != TRACK_SR:
        y = soxr.resample(y, sr, TRACK_SR, quality="HQ").astype(np.float32)
        sr = TRACK_SR
    if is_silent(y):
        raise BadInput("the music is silent (nothing louder than -60 dBFS)")
    duration = y.size / sr
    n = int(math.ceil(duration * FPS - 1e-9))
    report("analyze", 0.05, "beats")
    beats = track_beats(y, sr)
    report("analyze", 0.45, "EDGE features")
    y15 = soxr.resample(y, sr, EDGE_SR, quality="HQ").astype(np.float32)
    edge = _fit(edge_baseline_features(y15, edge_start_bpm(y)), n)
    report("analyze", 0.85, "energy")
    rms = _fit(librosa.feature.rms(y=y15, frame_length=1024, hop_length=EDGE_HOP)[0], n)
    onset = edge[:, 0].copy()
    onset /= max(float(onset.max()), 1e-9)
    report("analyze", 1.0, "done")
    return MusicAnalysis(
        duration_s=duration, sample_rate=int(source_sr or sr), tempo_bpm=beats.tempo_bpm,
        beats_s=beats.beats_s, downbeats_s=beats.downbeats_s, meter=beats.meter,
        onset_env=onset.astype(np.float32), rms=rms.astype(np.float32), edge35=edge,
        beat_onehot=_onehot(beats.beats_s, n), downbeat_onehot=_onehot(beats.downbeats_s, n),
    )


def analyze_music(path: PathLike, progress=None) -> MusicAnalysis:
    """Decode ``path`` and analyse it. BadInput for unreadable, too short/long or silent audio."""
    import av

    from .decode import load_audio

    p = Path(path)
    source_sr = None
    try:
        with av.open(str(p)) as c:
            source_sr = c.streams.audio[0].codec_context.sample_rate if c.streams.audio else None
    except Exception:
        pass  # load_audio below gives the user-facing error
    y, sr = load_audio(p, sr=TRACK_SR, progress=progress)
    a = analyze_samples(y, sr, source_sr=source_sr or sr, progress=progress)
    a.source = p.name
    a.source_sha256 = sha256_file(p)
    return a
