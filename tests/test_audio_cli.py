"""`magicdance analyze` end to end, and every bad input of issue 2 section 4 for it."""

from __future__ import annotations

import json

import numpy as np
import soundfile

from test_audio_decode import long_wav
from test_audio_support import click_track, encode, tone


def test_analyze_writes_json_and_plot(cli, tmp_path):
    y, _, _ = click_track(128, 4, 10.0)
    song = encode(tmp_path / "my song.ogg", y[None], 22050, "libvorbis", rate=44100)
    r = cli("analyze", song, "--plot", tmp_path / "plot.png", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "my song.music.json"  # default: ./<stem>.music.json in the current folder
    doc = json.loads(out.read_text())
    assert abs(doc["tempo_bpm"] - 128) < 3 and doc["sample_rate"] == 44100
    assert (tmp_path / "my song.music.features.npz").exists()
    png = (tmp_path / "plot.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20000
    r = cli("analyze", song, "--json", tmp_path / "sub" / "m.json", cwd=tmp_path)
    assert r.returncode == 0 and (tmp_path / "sub" / "m.json").exists()


def _bad_inputs(d):
    cases = {}
    cases["missing"] = d / "missing.mp3"
    (d / "empty.mp3").write_bytes(b"")
    cases["empty"] = d / "empty.mp3"
    (d / "text.mp3").write_text("hello, I am not an mp3\n" * 40)
    cases["text"] = d / "text.mp3"
    for codec, ext in (("mp3", "mp3"), ("libvorbis", "ogg")):
        full = encode(d / f"full.{ext}", tone(6.0, 44100, 2), 44100, codec).read_bytes()
        (d / f"trunc.{ext}").write_bytes(full[: len(full) // 8])
        cases[f"truncated {ext}"] = d / f"trunc.{ext}"
    soundfile.write(d / "silence.wav", np.zeros(22050 * 5, np.float32), 22050)
    cases["silence"] = d / "silence.wav"
    soundfile.write(d / "short.wav", tone(1.0, 44100)[0], 44100)
    cases["1 s clip"] = d / "short.wav"
    cases["25 min"] = long_wav(d / "long.wav")
    return cases


def test_bad_inputs(cli, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    expect = {"missing": "not found", "empty": "empty", "text": "not an audio file", "silence": "silent",
              "1 s clip": "too short: 1.0 s, need at least 2 s", "25 min": "too long: 25.0 min",
              "truncated mp3": "", "truncated ogg": ""}
    for name, path in _bad_inputs(src).items():
        r = cli("analyze", path, "--plot", out / "p.png", "--json", out / "m.json", cwd=out)
        assert r.returncode == 2, (name, r.stderr)
        lines = [ln for ln in r.stderr.splitlines() if ln.strip() and "%" not in ln]
        assert len(lines) == 1 and lines[0].startswith("error: "), (name, r.stderr)
        assert expect[name] in lines[0], (name, lines[0])
        assert "Traceback" not in r.stderr
        assert list(out.iterdir()) == [], (name, list(out.iterdir()))


def test_plot_must_be_png(cli, tmp_path):
    y, _, _ = click_track(100, 4, 4.0)
    soundfile.write(tmp_path / "s.wav", y, 22050)
    r = cli("analyze", tmp_path / "s.wav", "--plot", tmp_path / "p.jpg", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.startswith("error: ")
