"""Decoding: every format at odd rates and channel counts, bounded checks, MIDI rendering."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from magicdance_core.audio.decode import is_silent, load_audio, probe_duration
from magicdance_core.errors import BadInput, MissingModel
from test_audio_support import dominant_freq, encode, tone

CASES = [  # codec, extension, sample rate, channels
    ("mp3", "mp3", 32000, 1),
    ("mp3", "mp3", 44100, 2),
    ("libvorbis", "ogg", 11025, 2),
    ("libvorbis", "ogg", 48000, 1),
    ("aac", "m4a", 48000, 6),
    ("aac", "aac", 22050, 2),  # raw ADTS stream: no container duration
    ("flac", "flac", 37800, 2),
    ("flac", "flac", 96000, 1),
]


@pytest.mark.parametrize("codec,ext,sr,channels", CASES)
def test_decode_formats(tmp_path, codec, ext, sr, channels):
    path = encode(tmp_path / f"song.{ext}", tone(3.0, sr, channels, freq=440.0), sr, codec)
    y, out_sr = load_audio(path, sr=22050)
    assert out_sr == 22050 and y.dtype == np.float32 and y.ndim == 1
    # Encoders add priming/padding of a few ms; the length must still be ~3 s.
    assert abs(y.size / 22050 - 3.0) < 0.1
    assert abs(dominant_freq(y[2000:-2000], 22050) - 440.0) < 3.0
    native, nsr = load_audio(path, mono=False)
    assert nsr == sr and native.shape[0] == channels


@pytest.mark.parametrize("subtype,sr,channels", [("PCM_16", 8000, 1), ("PCM_24", 44100, 2), ("FLOAT", 19000, 3)])
def test_wav_matches_librosa(tmp_path, subtype, sr, channels):
    import librosa

    rng = np.random.default_rng(0)
    x = (0.2 * rng.standard_normal((int(2.5 * sr), channels))).astype(np.float32)
    p = tmp_path / "noise.wav"
    soundfile.write(p, x, sr, subtype=subtype)
    ours, _ = load_audio(p, sr=22050)
    ref, _ = librosa.load(p, sr=22050)
    assert ours.shape == ref.shape
    assert np.max(np.abs(ours - ref)) < 1e-4  # same mono mean, same soxr HQ resampler


def test_missing_and_empty(tmp_path):
    with pytest.raises(BadInput, match="not found"):
        load_audio(tmp_path / "nope.mp3")
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(BadInput, match="empty"):
        load_audio(tmp_path / "empty.wav")


def test_text_file_named_mp3(tmp_path):
    p = tmp_path / "notes.mp3"
    p.write_text("this is not music\n" * 50)
    with pytest.raises(BadInput, match="not an audio file|no decodable audio|no audio"):
        load_audio(p)


@pytest.mark.parametrize("codec,ext", [("mp3", "mp3"), ("libvorbis", "ogg")])
def test_truncated(tmp_path, codec, ext):
    p = encode(tmp_path / f"t.{ext}", tone(6.0, 44100, 2), 44100, codec)
    data = p.read_bytes()
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(data[: len(data) // 8])  # less than 1 s of audio survives
    with pytest.raises(BadInput, match="too short|truncated|corrupt|not an audio"):
        load_audio(cut)
    headers_only = tmp_path / f"hdr.{ext}"
    headers_only.write_bytes(data[:300])
    with pytest.raises(BadInput):
        load_audio(headers_only)


def test_truncated_mp3_with_declared_length(tmp_path):
    """LAME's Info header declares the full length: losing most of the file is reported as truncation."""
    p = encode(tmp_path / "long.mp3", tone(12.0, 44100, 1), 44100, "mp3")
    data = p.read_bytes()
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(BadInput, match="truncated"):
        load_audio(cut)


def test_too_short(tmp_path):
    p = tmp_path / "clip.wav"
    soundfile.write(p, tone(1.0, 44100)[0], 44100)
    with pytest.raises(BadInput, match=r"too short: 1\.0 s, need at least 2 s"):
        load_audio(p)


def long_wav(path, seconds=25 * 60, sr=1000):
    """A real 25-min WAV made cheap: 1 kHz, 8-bit mono is 1.5 MB and writes in milliseconds."""
    t = np.arange(int(seconds * sr)) / sr
    soundfile.write(path, (0.5 * np.sin(2 * np.pi * 50 * t)).astype(np.float32), sr, subtype="PCM_U8")
    return path


def test_too_long(tmp_path):
    p = long_wav(tmp_path / "long.wav")
    assert probe_duration(p) == pytest.approx(25 * 60, rel=1e-3)
    with pytest.raises(BadInput, match="too long: 25.0 min"):
        load_audio(p)


def test_too_long_while_decoding(tmp_path):
    """No trustworthy header (raw ADTS): the limit is enforced on decoded samples."""
    p = encode(tmp_path / "s.aac", tone(5.0, 8000), 8000, "aac")
    with pytest.raises(BadInput, match="too long"):
        load_audio(p, max_s=2.5)


def test_silence_detection():
    assert is_silent(np.zeros(44100, np.float32))
    assert is_silent(np.full(44100, 1e-5, np.float32))
    assert not is_silent(tone(1.0, 44100)[0])


def test_midi_render(tmp_path):
    import mido

    from magicdance_core.audio.midi_render import find_soundfont, render_midi

    try:
        find_soundfont()
        import tinysoundfont  # noqa: F401
    except (MissingModel, ImportError):
        pytest.skip("no GM soundfont / tinysoundfont here (apt fluid-soundfont-gm)")
    mid = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    tr.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(150)))
    for i in range(8):
        tr.append(mido.Message("note_on", channel=9, note=36, velocity=110, time=0))
        tr.append(mido.Message("note_off", channel=9, note=36, velocity=0, time=480))
    out = render_midi(mid, tmp_path / "m.wav")
    y, sr = load_audio(out)
    assert sr == 44100
    assert abs(y.size / sr - (8 * 0.4 + 1.5)) < 0.05  # 8 beats at 150 BPM + release tail
    env = np.abs(y)
    hits = [int(i * 0.4 * sr) for i in range(8)]
    assert all(env[h:h + 2000].max() > 5 * env[h - 800:h - 200].max() + 1e-4 for h in hits[1:])
    with pytest.raises(MissingModel):
        render_midi(mid, tmp_path / "n.wav", soundfont=tmp_path / "none.sf2")
    assert not (tmp_path / "n.wav").exists()
