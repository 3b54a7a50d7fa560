"""Read video frames and facts about a video file with PyAV."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterator, Optional

import numpy as np

from ..errors import BadInput
from ..fileio import PathLike, require_file


@dataclass
class VideoInfo:
    fps: float                 # average frame rate of the video stream
    n_frames: int              # frames counted by demuxing (exact, not the header's guess)
    duration_s: float          # video stream duration: n_frames / fps for CFR video
    width: int
    height: int
    codec: str                 # e.g. "h264"
    pix_fmt: str               # e.g. "yuv420p"
    has_audio: bool
    audio_duration_s: Optional[float]
    audio_codec: Optional[str]
    audio_rate: Optional[int]
    audio_channels: Optional[int]
    cfr: bool                  # every frame-to-frame pts step is the same

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)

    def to_dict(self) -> dict:
        return asdict(self)


def _open(path: PathLike):
    import av

    p = require_file(path, "video file")
    try:
        return av.open(str(p))
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as e:
        raise BadInput(f"not a readable video file: {p} ({e.__class__.__name__})") from None


def read_frames(path: PathLike, start: int = 0, stop: Optional[int] = None) -> Iterator[np.ndarray]:
    """Yield the video's frames as HxWx3 uint8 RGB arrays, in order, from ``start`` to ``stop``."""
    import av

    container = _open(path)
    try:
        if not container.streams.video:
            raise BadInput(f"no video track in {path}")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            for i, frame in enumerate(container.decode(stream)):
                if stop is not None and i >= stop:
                    break
                if i >= start:
                    yield frame.to_ndarray(format="rgb24")
        except av.error.FFmpegError as e:
            raise BadInput(f"cannot decode {path} ({e.__class__.__name__})") from None
    finally:
        container.close()


def probe(path: PathLike) -> VideoInfo:
    """Facts about a video: frame rate, exact frame count, durations, size, codecs, CFR."""
    container = _open(path)
    try:
        if not container.streams.video:
            raise BadInput(f"no video track in {path}")
        vs = container.streams.video[0]
        fps = float(vs.average_rate or vs.guessed_rate or 0)
        codec = vs.codec_context.name
        pix_fmt = vs.codec_context.pix_fmt or ""
        width, height = vs.codec_context.width, vs.codec_context.height
        aud = container.streams.audio[0] if container.streams.audio else None
        streams = [vs] + ([aud] if aud is not None else [])
        pts = []
        a_end = None
        for packet in container.demux(*streams):
            if packet.pts is None:
                continue
            if packet.stream is vs:
                pts.append(packet.pts)
            elif packet.duration is not None:
                end = float((packet.pts + packet.duration) * packet.time_base)
                a_end = end if a_end is None else max(a_end, end)
        pts.sort()
        n = len(pts)
        steps = np.diff(pts) if n > 1 else np.array([])
        cfr = bool(n < 2 or np.all(steps == steps[0]))
        duration = n / fps if fps > 0 else 0.0
        a_dur = None
        if aud is not None:
            # The stream's own duration excludes the encoder's priming samples (edit list).
            if aud.duration is not None:
                a_dur = float(aud.duration * aud.time_base)
            else:
                a_dur = a_end
        return VideoInfo(
            fps=fps, n_frames=n, duration_s=duration, width=width, height=height, codec=codec,
            pix_fmt=pix_fmt, has_audio=aud is not None, audio_duration_s=a_dur,
            audio_codec=aud.codec_context.name if aud is not None else None,
            audio_rate=aud.codec_context.sample_rate if aud is not None else None,
            audio_channels=aud.codec_context.channels if aud is not None else None, cfr=cfr,
        )
    finally:
        container.close()
