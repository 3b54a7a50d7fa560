"""Make the shipped example song: a 30 s, 120 BPM MIDI groove (drums, bass, chords),
rendered through Debian's fluid-soundfont-gm (MIT) and encoded as Ogg Vorbis.

Run from the repository root:  .venv/bin/python examples/make_song.py
Writes examples/song.mid and examples/song.ogg (the project wrote every note; see LICENSES.md).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import mido
import soundfile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from magicdance_core.audio.midi_render import render_midi_array  # noqa: E402

BPM = 120
BARS = 15                 # 15 bars of 4/4 at 120 BPM = 30 s
TPB = 480                 # ticks per beat
DRUMS, BASS, KEYS = 9, 1, 2
KICK, SNARE, HAT, OPEN_HAT, CRASH = 36, 38, 42, 46, 49
# i-vi-IV-V in C, one chord per bar
CHORDS = [(60, 64, 67), (57, 60, 64), (53, 57, 60), (55, 59, 62)]
BASS_ROOTS = [36, 33, 29, 31]


def build() -> mido.MidiFile:
    events = []  # (tick, channel, note, velocity, length_ticks)
    for bar in range(BARS):
        t0 = bar * 4 * TPB
        ci = bar % 4
        for beat in range(4):
            tb = t0 + beat * TPB
            events.append((tb, DRUMS, KICK, 118, TPB // 4))      # four on the floor: the beat
            if beat in (1, 3):
                events.append((tb, DRUMS, SNARE, 100, TPB // 4))
            events.append((tb, DRUMS, HAT, 70, TPB // 8))
            events.append((tb + TPB // 2, DRUMS, OPEN_HAT if beat == 3 else HAT, 60, TPB // 8))
            # bass: root on the beat, octave on the off-beat
            root = BASS_ROOTS[ci]
            events.append((tb, BASS, root, 105, TPB // 2 - 20))
            events.append((tb + TPB // 2, BASS, root + 12, 85, TPB // 2 - 20))
        if bar % 4 == 0:
            events.append((t0, DRUMS, CRASH, 100, TPB))
        for beat in (0, 2):  # chord stabs on beats 1 and 3 (and their off-beats)
            for n in CHORDS[ci]:
                events.append((t0 + beat * TPB + TPB // 2, KEYS, n, 75, TPB // 3))
    msgs = []
    for tick, ch, note, vel, length in events:
        msgs.append((tick, 1, mido.Message("note_on", channel=ch, note=note, velocity=vel)))
        msgs.append((tick + length, 0, mido.Message("note_off", channel=ch, note=note, velocity=0)))
    msgs.sort(key=lambda m: (m[0], m[1]))
    mid = mido.MidiFile(ticks_per_beat=TPB)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(BPM), time=0))
    track.append(mido.Message("program_change", channel=BASS, program=38, time=0))  # synth bass 1
    track.append(mido.Message("program_change", channel=KEYS, program=4, time=0))   # electric piano
    last = 0
    for tick, _, m in msgs:
        track.append(m.copy(time=tick - last))
        last = tick
    return mid


def main() -> None:
    out_dir = ROOT / "examples"
    mid = build()
    mid.save(str(out_dir / "song.mid"))
    audio = render_midi_array(mid, sr=44100)
    audio = audio[: int(BARS * 4 * 60 / BPM * 44100) + 22050]  # 30 s plus a short ring-out
    with tempfile.TemporaryDirectory() as tmp:
        tmp_ogg = Path(tmp) / "song.ogg"
        soundfile.write(str(tmp_ogg), audio, 44100, format="OGG", subtype="VORBIS")
        (out_dir / "song.ogg").write_bytes(tmp_ogg.read_bytes())
    print(f"wrote examples/song.mid and examples/song.ogg ({len(audio) / 44100:.1f} s)")


if __name__ == "__main__":
    main()
