"""video.writer / video.reader: real encodes with PyAV, checked by decoding them again."""

import hashlib

import numpy as np
import pytest

from magicdance_core.errors import BadInput, Cancelled
from magicdance_core.video.reader import probe, read_frames
from magicdance_core.video.writer import write_video


def _tone(path, seconds, sr=44100, channels=1):
    import soundfile as sf

    t = np.arange(int(round(sr * seconds))) / sr
    x = 0.3 * np.sin(2 * np.pi * 440 * t)
    if channels == 2:
        x = np.stack([x, x], axis=1)
    sf.write(str(path), x, sr)
    return path


def _colour_frames(n, h=64, w=96):
    fr = np.zeros((n, h, w, 3), np.uint8)
    fr[:, :, : w // 2] = (220, 30, 30)      # left half red
    fr[:, :, w // 2:] = (30, 60, 200)       # right half blue
    for i in range(n):                      # a grey bar whose height encodes the index
        fr[i, : 4 + (i % 50), :4] = 128
    return fr


def _no_leftovers(folder):
    return [p.name for p in folder.iterdir() if ".part" in p.name]


def test_plain_video_is_h264_yuv420p_cfr(tmp_path):
    out = tmp_path / "v.mp4"
    write_video(_colour_frames(45), out, fps=30)
    info = probe(out)
    assert info.codec == "h264" and info.pix_fmt == "yuv420p"
    assert info.cfr and info.fps == pytest.approx(30.0)
    assert info.n_frames == 45 and info.duration_s == pytest.approx(1.5)
    assert (info.width, info.height) == (96, 64) and not info.has_audio


def test_colours_survive_encoding(tmp_path):
    out = tmp_path / "v.mp4"
    src = _colour_frames(10)
    write_video(src, out, fps=30)
    got = list(read_frames(out))
    assert len(got) == 10
    for a, b in zip(src, got):
        # yuv420p subsampling blurs the edges; compare the interiors.
        diff = np.abs(a[8:-8, 8:40].astype(int) - b[8:-8, 8:40]).mean()
        diff2 = np.abs(a[8:-8, 56:-8].astype(int) - b[8:-8, 56:-8]).mean()
        assert diff < 6 and diff2 < 6


@pytest.mark.parametrize("n_frames", [20, 70, 200])
def test_duration_follows_song_within_one_frame(tmp_path, n_frames):
    song = _tone(tmp_path / "song.wav", 2.345)
    out = tmp_path / "v.mp4"
    frames = (f for f in _colour_frames(n_frames))  # an iterator, not an array
    write_video(frames, out, fps=30, audio_path=song)
    info = probe(out)
    assert info.has_audio and info.audio_codec == "aac" and info.audio_channels == 2
    assert info.audio_rate in (44100, 48000)
    assert abs(info.duration_s - 2.345) <= 1 / 30
    assert abs(info.audio_duration_s - 2.345) <= 1 / 30
    assert abs(info.audio_duration_s - info.duration_s) <= 1 / 30
    assert info.cfr
    got = list(read_frames(out))
    assert len(got) == info.n_frames == 70
    if n_frames < 70:  # the last frame is held
        assert np.abs(got[-1].astype(int) - got[n_frames - 1]).mean() < 2


def test_audio_offset_and_resampling(tmp_path):
    song = _tone(tmp_path / "song.wav", 3.0, sr=22050, channels=2)
    out = tmp_path / "v.mp4"
    write_video(_colour_frames(10), out, fps=30, audio_path=song, audio_offset_s=1.0)
    info = probe(out)
    assert info.audio_rate == 48000  # 22.05 kHz is resampled
    assert abs(info.duration_s - 2.0) <= 1 / 30


def test_odd_size_is_padded_not_stretched(tmp_path):
    out = tmp_path / "v.mp4"
    src = _colour_frames(3, h=63, w=95)
    write_video(src, out, fps=30)
    info = probe(out)
    assert (info.width, info.height) == (96, 64)
    f = next(iter(read_frames(out)))
    # The red/blue boundary stays at column 47 (a stretch would move it).
    row = f[32].astype(int)
    red = row[:, 0] > row[:, 2]
    assert red[:46].all() and not red[49:].any()


def test_bad_music_raises_and_writes_nothing(tmp_path):
    bad = tmp_path / "notes.mp3"
    bad.write_text("this is not audio\n" * 20)
    out = tmp_path / "v.mp4"
    with pytest.raises(BadInput):
        write_video(_colour_frames(5), out, fps=30, audio_path=bad)
    assert not out.exists() and not _no_leftovers(tmp_path)
    with pytest.raises(BadInput):
        write_video(_colour_frames(5), out, fps=30, audio_path=tmp_path / "missing.wav")
    assert not out.exists()


def test_bad_frames_raise_and_write_nothing(tmp_path):
    out = tmp_path / "v.mp4"

    def mixed():
        yield np.zeros((32, 32, 3), np.uint8)
        yield np.zeros((32, 32, 3), np.uint8)
        yield np.zeros((40, 32, 3), np.uint8)

    with pytest.raises(BadInput):
        write_video(mixed(), out)
    with pytest.raises(BadInput):
        write_video([], out)
    with pytest.raises(BadInput):
        write_video([np.zeros((8, 8, 2), np.uint8)], out)
    assert not out.exists() and not _no_leftovers(tmp_path)


def test_cancel_from_progress_leaves_nothing(tmp_path):
    out = tmp_path / "v.mp4"
    out.write_bytes(b"old video")  # an earlier result must survive a cancelled run
    seen = []

    def progress(stage, fraction, message=""):
        seen.append(fraction)
        if fraction > 0.3:
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        write_video(_colour_frames(30), out, progress=progress)
    assert out.read_bytes() == b"old video" and not _no_leftovers(tmp_path)
    assert seen and seen == sorted(seen)


def test_reader_rejects_non_video(tmp_path):
    p = tmp_path / "x.mp4"
    p.write_bytes(b"\x00" * 100)
    with pytest.raises(BadInput):
        probe(p)
    with pytest.raises(BadInput):
        list(read_frames(p))


def test_the_same_frames_give_the_same_video(tmp_path):
    # A resumed or re-run job must give the very same file (batch reruns, resumed diffusion
    # sampling). Busy frames whose width is no multiple of 16 (76 here; the aspect ratio is kept, so most
    # videos) are where x264's macroblock-tree rate control varied from run to run.
    rng = np.random.default_rng(3)
    base = rng.integers(0, 256, (60, 32, 19, 3)).astype(np.uint8)
    frames = [np.kron(b, np.ones((4, 4, 1), np.uint8)) for b in base]
    digests = set()
    for k in range(10):
        p = write_video(frames, tmp_path / f"v{k}.mp4", fps=30)
        digests.add(hashlib.sha256(p.read_bytes()).hexdigest())
    assert len(digests) == 1
