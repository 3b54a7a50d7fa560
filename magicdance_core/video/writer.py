"""Write frames (and the music) to an H.264 MP4 with PyAV.

The output is what every player and editor accepts: H.264 (libx264), yuv420p,
constant frame rate (stream time base 1/fps, pts = frame index), even width and
height (odd sizes are padded by repeating the edge row/column, never stretched),
and the music muxed as AAC. With music, the video lasts as long as the music
(within one frame): missing frames hold the last one, extra frames are dropped,
and the audio is trimmed or padded with silence to end with the video.

The file is written under a temporary name and renamed at the end, so an error
or a cancellation never leaves a half-written video behind.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Iterable, Iterator, Optional

import numpy as np

from ..errors import BadInput
from ..fileio import PathLike, atomic_path, require_file
from ..progress import ProgressFn, null_progress

AAC_FRAME = 1024  # samples per AAC frame (the encoder's frame_size)


def decode_audio(path: PathLike, offset_s: float = 0.0) -> tuple[np.ndarray, int]:
    """Decode an audio file (or a video's audio track) to stereo float32 (2, N).

    The rate is kept when it is 44.1 or 48 kHz and resampled to 48 kHz otherwise
    (the two rates AAC players handle everywhere). ``offset_s`` > 0 skips the
    start of the music; < 0 prepends silence. Raises BadInput when the file holds
    no decodable audio.
    """
    import av

    p = require_file(path, "music file")
    try:
        container = av.open(str(p))
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as e:
        raise BadInput(f"not a readable audio file: {p} ({e.__class__.__name__})") from None
    try:
        streams = [s for s in container.streams if s.type == "audio"]
        if not streams:
            raise BadInput(f"no audio track in {p}")
        stream = streams[0]
        src_rate = stream.rate or stream.codec_context.sample_rate or 48000
        rate = src_rate if src_rate in (44100, 48000) else 48000
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=rate)
        chunks = []
        try:
            for frame in container.decode(stream):
                frame.pts = None  # let the resampler count samples itself
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
        except av.error.FFmpegError as e:
            raise BadInput(f"cannot decode the audio in {p} ({e.__class__.__name__})") from None
    finally:
        container.close()
    if not chunks:
        raise BadInput(f"no audio samples in {p}")
    samples = np.concatenate(chunks, axis=1).astype(np.float32)
    if samples.shape[1] == 0:
        raise BadInput(f"no audio samples in {p}")
    shift = int(round(offset_s * rate))
    if shift > 0:
        samples = samples[:, shift:]
        if samples.shape[1] == 0:
            raise BadInput(f"audio offset {offset_s:.2f} s is past the end of {p}")
    elif shift < 0:
        samples = np.concatenate([np.zeros((2, -shift), np.float32), samples], axis=1)
    return np.ascontiguousarray(samples), int(rate)


def _as_rgb(frame, index: int) -> np.ndarray:
    a = np.asarray(frame)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise BadInput(f"frame {index} must be HxWx3 RGB, got shape {a.shape}")
    if a.shape[2] == 4:
        a = a[:, :, :3]
    if a.dtype != np.uint8:
        if np.issubdtype(a.dtype, np.floating):
            a = np.clip(a * 255.0 + 0.5, 0, 255)  # floats are taken as 0..1
        a = np.clip(a, 0, 255).astype(np.uint8)
    return a


def _pad_even(a: np.ndarray) -> np.ndarray:
    h, w = a.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return np.ascontiguousarray(a)
    # Repeat the last row/column: invisible, and the picture keeps its scale.
    return np.pad(a, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def _frames_to_length(frames: Iterable, n_target: Optional[int]) -> Iterator[np.ndarray]:
    """Yield exactly ``n_target`` frames (hold the last one, drop extras), or all when None."""
    last = None
    i = 0
    for f in frames:
        if n_target is not None and i >= n_target:
            return
        last = f
        yield f
        i += 1
    if last is None:
        raise BadInput("no frames to write")
    while n_target is not None and i < n_target:
        yield last
        i += 1


def write_video(frames, out_path: PathLike, fps: float = 30, audio_path: Optional[PathLike] = None,
                audio_offset_s: float = 0.0, progress: Optional[ProgressFn] = None, crf: int = 18,
                n_frames: Optional[int] = None) -> Path:
    """Encode ``frames`` (iterable/array of HxWx3 uint8 RGB) to an H.264 MP4 at ``out_path``.

    fps: constant frame rate (an integer or a float such as 29.97).
    audio_path: music to mux as AAC; the video then lasts round(duration * fps) frames.
    audio_offset_s: seconds of the music skipped before video frame 0 (negative: silence first).
    progress: ``progress("video", fraction, message)``; may raise Cancelled to stop.
    crf: x264 quality (0 lossless .. 51 worst; 18 is visually lossless).
    n_frames: the number of frames when ``frames`` is an iterator (for progress only).
    Returns the output path. Raises BadInput on bad frames or music; nothing is
    written then.
    """
    import av

    progress = progress or null_progress
    if not np.isfinite(fps) or fps <= 0:
        raise BadInput(f"fps must be positive, got {fps}")
    rate = Fraction(fps).limit_denominator(1001)
    audio = None
    n_target = None
    if audio_path is not None:
        audio, sr = decode_audio(audio_path, audio_offset_s)  # first, so bad music fails before any work
        n_target = max(1, int(round(audio.shape[1] / sr * float(rate))))
        # Audio trimmed/padded to end exactly with the last video frame.
        n_samples = int(round(n_target / float(rate) * sr))
        if audio.shape[1] >= n_samples:
            audio = audio[:, :n_samples]
        else:
            audio = np.pad(audio, ((0, 0), (0, n_samples - audio.shape[1])))
    if n_target is not None:
        total = n_target
    elif n_frames is not None:
        total = n_frames
    elif hasattr(frames, "__len__"):
        total = len(frames)
    else:
        total = None

    out_path = Path(out_path)
    it = iter(_frames_to_length(frames, n_target))
    try:
        first = _pad_even(_as_rgb(next(it), 0))
    except StopIteration:
        raise BadInput("no frames to write") from None
    h, w = first.shape[:2]

    with atomic_path(out_path, suffix=".mp4") as tmp:
        container = av.open(str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"})
        try:
            vs = container.add_stream("libx264", rate=rate)
            vs.width, vs.height = w, h
            vs.pix_fmt = "yuv420p"
            tb = 1 / rate  # pts = frame index; the muxer rescales to its own time base
            vs.time_base = tb
            vs.codec_context.time_base = tb
            # mbtree off: with it, libx264 encodes the same frames into different videos from run
            # to run when the width is no multiple of 16 (up to 38-69 grey levels apart in a few
            # frames), and a resumed or re-run job must give the very same video.
            vs.options = {"crf": str(int(crf)), "preset": "veryfast", "x264-params": "mbtree=0"}
            astream = None
            if audio is not None:
                astream = container.add_stream("aac", rate=sr)
                astream.layout = "stereo"
                astream.format = "fltp"
                astream.bit_rate = 192000
                astream.time_base = Fraction(1, sr)
            a_pos = 0

            def mux_audio_until(t_s: Optional[float]) -> int:
                # Interleave: encode audio up to video time t_s (all of it when None).
                nonlocal a_pos
                end = audio.shape[1] if t_s is None else min(audio.shape[1], int(t_s * sr))
                while a_pos < end:
                    n = min(AAC_FRAME, audio.shape[1] - a_pos)
                    af = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio[:, a_pos:a_pos + n]),
                                                    format="fltp", layout="stereo")
                    af.sample_rate = sr
                    af.pts = a_pos
                    af.time_base = Fraction(1, sr)
                    container.mux(astream.encode(af))
                    a_pos += n
                return a_pos

            i = 0
            frame = first
            while frame is not None:
                if frame.shape[:2] != (h, w):
                    raise BadInput(f"frame {i} has size {frame.shape[1]}x{frame.shape[0]}, "
                                   f"the first frame {w}x{h}")
                vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
                vf.pts = i
                vf.time_base = tb
                container.mux(vs.encode(vf))
                i += 1
                if astream is not None:
                    mux_audio_until(i / float(rate))
                if total:
                    progress("video", min(i / total, 0.999), f"frame {i}/{total}")
                elif i % 30 == 0:
                    progress("video", 0.0, f"frame {i}")
                nxt = next(it, None)
                frame = None if nxt is None else _pad_even(_as_rgb(nxt, i))
            container.mux(vs.encode(None))
            if astream is not None:
                mux_audio_until(None)
                container.mux(astream.encode(None))
        finally:
            container.close()
    progress("video", 1.0, f"wrote {out_path.name}")
    return out_path
