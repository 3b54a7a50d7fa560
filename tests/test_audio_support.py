"""Helpers for the audio tests: synthesized click tracks and tones, encoded with PyAV."""

from __future__ import annotations

import numpy as np


def click_track(bpm, meter, seconds, sr=22050, accent=True, start=0.5):
    """Clicks on every beat (woodblock-ish decaying tones); bar starts louder and lower when ``accent``.

    Returns (samples float32, beat times, downbeat times)."""
    y = np.zeros(int(seconds * sr), np.float32)
    period = 60.0 / bpm
    beats = np.arange(start, seconds - 0.2, period)
    n = int(0.06 * sr)
    t = np.arange(n) / sr
    env = np.exp(-t * 60)
    for i, b in enumerate(beats):
        down = i % meter == 0
        f = 800.0 if (down and accent) else 1600.0
        amp = 0.9 if (down and accent) else 0.45
        k = int(b * sr)
        tone = amp * env * np.sin(2 * np.pi * f * t)
        if down and accent:
            tone += 0.6 * env * np.sin(2 * np.pi * 90 * t)  # a kick-like low thump on the one
        y[k:k + n] += tone[: max(0, min(n, y.size - k))].astype(np.float32)
    return y, beats, beats[::meter]


def tone(seconds, sr, channels=1, freq=440.0):
    t = np.arange(int(seconds * sr)) / sr
    chans = [0.3 * np.sin(2 * np.pi * freq * (1 + 0.0 * c) * t + c) for c in range(channels)]
    return np.stack(chans).astype(np.float32)  # (channels, n)


LAYOUTS = {1: "mono", 2: "stereo", 6: "5.1"}


def encode(path, samples, sr, codec, rate=None):
    """Encode (channels, n) float32 ``samples`` at ``sr`` with PyAV's ``codec`` into ``path``."""
    import av

    samples = np.atleast_2d(samples)
    layout = LAYOUTS[samples.shape[0]]
    rate = rate or sr
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=rate)
        s.layout = layout
        if codec in ("mp3", "libmp3lame", "aac"):
            s.bit_rate = 64000 * min(samples.shape[0], 2)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples), format="fltp", layout=layout)
        frame.sample_rate = sr
        rs = av.AudioResampler(format=s.codec_context.format.name, layout=layout, rate=rate,
                               frame_size=s.codec_context.frame_size or None)
        for f in rs.resample(frame) + rs.resample(None):
            for pkt in s.encode(f):
                c.mux(pkt)
        for pkt in s.encode(None):
            c.mux(pkt)
    return path


def dominant_freq(y, sr):
    spec = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    return np.fft.rfftfreq(y.size, 1 / sr)[int(np.argmax(spec))]
