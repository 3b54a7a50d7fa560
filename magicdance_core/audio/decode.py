"""Decode any audio file PyAV (FFmpeg) reads into float32 samples, with bounded memory.

Frames are decoded one by one, converted to float, down-mixed to mono by averaging
channels and resampled with soxr's streaming resampler at librosa's default quality
("HQ"), so the result matches ``librosa.load(path, sr=sr, mono=True)`` while the file's
native-rate samples never sit in memory all at once (a 20-min 48 kHz stereo file would
be ~460 MB as float32; at 22050 Hz mono it is ~106 MB).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Optional, Tuple, Union

import numpy as np

from ..errors import BadInput
from ..fileio import require_file

MIN_DURATION_S = 2.0
MAX_DURATION_S = 20 * 60.0
# Container durations are estimates (mp3 without a Xing header, VBR); allow a little slack.
_DURATION_SLACK_S = 1.0

PathLike = Union[str, os.PathLike]


def _fmt_s(seconds: float) -> str:
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"


def _declared_duration(container, stream) -> Optional[float]:
    """Duration the container claims, in seconds, or None when it does not say."""
    if stream.duration is not None and stream.time_base is not None:
        d = float(stream.duration * stream.time_base)
        if d > 0:
            return d
    if container.duration is not None and container.duration > 0:
        return container.duration / 1_000_000.0  # AV_TIME_BASE units
    return None


def probe_duration(path: PathLike) -> Optional[float]:
    """The duration in seconds the file's header declares (cheap; no decoding), or None."""
    import av

    p = require_file(path, "music file")
    try:
        with av.open(str(p)) as container:
            if not container.streams.audio:
                raise BadInput(f"no audio track in {p.name}")
            return _declared_duration(container, container.streams.audio[0])
    except av.error.FFmpegError as e:
        raise BadInput(f"not an audio file we can read: {p.name} ({_short(e)})") from None


def _short(e: Exception) -> str:
    msg = getattr(e, "strerror", None) or str(e)
    return str(msg).strip().splitlines()[0][:120] if msg else e.__class__.__name__


def load_audio(
    path: PathLike,
    sr: Optional[int] = None,
    mono: bool = True,
    *,
    min_s: float = MIN_DURATION_S,
    max_s: float = MAX_DURATION_S,
    progress=None,
) -> Tuple[np.ndarray, int]:
    """Decode ``path`` to float32 samples in [-1, 1] at ``sr`` Hz (native rate if None).

    Returns ``(samples, sr)``: shape (n,) when ``mono`` else (channels, n).
    Raises BadInput for a missing, empty, unreadable or truncated file, for no audio
    track, and for audio shorter than ``min_s`` or longer than ``max_s`` seconds.
    """
    import av
    import soxr

    p = require_file(path, "music file")
    try:
        container = av.open(str(p))
    except av.error.FFmpegError as e:
        raise BadInput(f"not an audio file we can read: {p.name} ({_short(e)})") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise BadInput(f"not an audio file we can read: {p.name} ({_short(e)})") from None
    with container:
        if not container.streams.audio:
            raise BadInput(f"no audio track in {p.name}")
        stream = container.streams.audio[0]
        stream.thread_type = "AUTO"
        declared = _declared_duration(container, stream)
        if declared is not None and declared > max_s + _DURATION_SLACK_S:
            raise BadInput(f"too long: {_fmt_s(declared)}, at most {_fmt_s(max_s)} ({p.name})")

        native_sr = int(stream.codec_context.sample_rate or stream.rate or 0)
        if native_sr <= 0:
            raise BadInput(f"audio track without a sample rate in {p.name}")
        out_sr = int(sr) if sr else native_sr
        # Planar float keeps each channel contiguous; the layout is kept so we average ourselves
        # (FFmpeg's own down-mix weights differ from librosa's plain mean).
        to_float = av.AudioResampler(format="fltp")
        resampler = None  # soxr stream, built once the channel count is known
        chunks = []
        n_in = 0
        n_out = 0
        max_in = None
        decode_error = None
        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except av.error.FFmpegError as e:
                    # One bad packet: FFmpeg players skip it; so do we, but remember it.
                    decode_error = e
                    continue
                for frame in frames:
                    for f in to_float.resample(frame):
                        a = f.to_ndarray()  # (channels, n) float32
                        if a.size == 0:
                            continue
                        if mono:
                            a = a.mean(axis=0, keepdims=True)
                        if f.sample_rate != native_sr:
                            native_sr = f.sample_rate  # trust the decoder over the header
                        if resampler is None and out_sr != native_sr:
                            resampler = soxr.ResampleStream(native_sr, out_sr, a.shape[0], dtype="float32", quality="HQ")
                        if max_in is None:
                            max_in = int((max_s + _DURATION_SLACK_S) * native_sr)
                        n_in += a.shape[1]
                        if n_in > max_in:
                            raise BadInput(f"too long: more than {_fmt_s(max_s)} ({p.name})")
                        out = a.T if resampler is None else resampler.resample_chunk(np.ascontiguousarray(a.T))
                        if out.shape[0]:
                            chunks.append(np.array(out, dtype=np.float32, copy=True))
                            n_out += out.shape[0]
                if progress is not None and declared:
                    progress("decode", min(n_in / native_sr / declared, 1.0), p.name)
        except av.error.FFmpegError as e:
            decode_error = e
        if resampler is not None:
            tail = resampler.resample_chunk(np.zeros((0, chunks[0].shape[1] if chunks else (1 if mono else 1)), np.float32), last=True)
            if tail.shape[0]:
                chunks.append(np.array(tail, dtype=np.float32, copy=True))
                n_out += tail.shape[0]

    if not chunks:
        why = f" ({_short(decode_error)})" if decode_error is not None else ""
        raise BadInput(f"no decodable audio in {p.name}: file is corrupt or truncated{why}")
    samples = np.concatenate(chunks, axis=0)
    del chunks
    duration = n_in / native_sr
    if declared is not None and declared >= min_s and duration < 0.5 * declared:
        raise BadInput(
            f"file is truncated or corrupt: decoded {_fmt_s(duration)} of {_fmt_s(declared)} ({p.name})"
        )
    if duration < min_s:
        raise BadInput(f"too short: {duration:.1f} s, need at least {min_s:g} s ({p.name})")
    samples = samples[:, 0] if mono else np.ascontiguousarray(samples.T)
    np.clip(samples, -1.0, 1.0, out=samples)
    if progress is not None:
        progress("decode", 1.0, p.name)
    return samples, out_sr


def is_silent(samples: np.ndarray, threshold_db: float = -60.0, window: int = 2048) -> bool:
    """True when even the loudest ``window``-sample stretch is below ``threshold_db`` dBFS RMS."""
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim > 1:
        x = x.mean(axis=0)
    n = (x.size // window) * window
    if n == 0:
        return not np.any(x)
    rms = np.sqrt(np.mean(x[:n].reshape(-1, window).astype(np.float64) ** 2, axis=1))
    return 20 * math.log10(max(float(rms.max()), 1e-12)) < threshold_db
