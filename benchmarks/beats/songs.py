"""Benchmark songs with exactly known beats: written here as MIDI, rendered through a GM soundfont.

Each song is built on a beat grid with a tempo per beat (tempo changes and ramps are written as
MIDI set_tempo events at beat boundaries), so the annotation is the grid itself: beat k is at the
sum of the first k beat durations; downbeats are the beats that start a bar. Notes get a little
timing and velocity jitter (seeded) so the audio is not machine-perfect.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Tuple

import numpy as np

TPB = 480  # MIDI ticks per beat
DRUMS = 9
KICK, SNARE, CLAP, HAT, OPEN_HAT, RIDE, CRASH, RIM, TOM = 36, 38, 39, 42, 46, 51, 49, 37, 45

# Chord roots (MIDI) and qualities for simple progressions.
PROGS = {
    "pop": [(60, "maj"), (57, "min"), (53, "maj"), (55, "maj")],  # C Am F G
    "minor": [(57, "min"), (53, "maj"), (48, "maj"), (55, "maj")],  # Am F C G
    "jazz": [(62, "min7"), (55, "dom7"), (60, "maj7"), (57, "min7")],  # ii V I vi
    "blues": [(55, "dom7"), (60, "dom7"), (55, "dom7"), (62, "dom7")],
}
QUAL = {"maj": (0, 4, 7), "min": (0, 3, 7), "maj7": (0, 4, 7, 11), "min7": (0, 3, 7, 10), "dom7": (0, 4, 7, 10)}


@dataclass
class Song:
    name: str
    meter: int
    tempi: List[float]  # bpm of each beat
    programs: dict = field(default_factory=dict)  # channel -> GM program
    notes: List[Tuple[float, float, int, int, int]] = field(default_factory=list)  # beat, dur, ch, note, vel
    description: str = ""

    @property
    def n_beats(self) -> int:
        return len(self.tempi)

    def beat_times(self) -> np.ndarray:
        return np.concatenate([[0.0], np.cumsum(60.0 / np.asarray(self.tempi))])[: self.n_beats]

    def downbeat_times(self) -> np.ndarray:
        return self.beat_times()[:: self.meter]

    def add(self, beat, dur, ch, note, vel):
        self.notes.append((float(beat), float(dur), int(ch), int(note), int(vel)))

    def to_midi(self, seed: int = 0):
        import mido

        rng = np.random.default_rng(seed)
        mid = mido.MidiFile(ticks_per_beat=TPB)
        track = mido.MidiTrack()
        mid.tracks.append(track)
        events = []  # (tick, order, message)
        prev = None
        for b, bpm in enumerate(self.tempi):
            if bpm != prev:
                events.append((b * TPB, 0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))))
                prev = bpm
        for ch, prog in self.programs.items():
            events.append((0, 1, mido.Message("program_change", channel=ch, program=prog)))
        for beat, dur, ch, note, vel in self.notes:
            if beat >= self.n_beats:
                continue
            jitter = int(rng.normal(0, 6))  # ~6 ticks = a few ms: a human-ish feel
            on = max(0, int(round(beat * TPB)) + jitter)
            off = max(on + 10, int(round(min(beat + dur, self.n_beats) * TPB)) + jitter)
            v = int(np.clip(vel + rng.normal(0, 6), 1, 127))
            events.append((on, 3, mido.Message("note_on", channel=ch, note=note, velocity=v)))
            events.append((off, 2, mido.Message("note_off", channel=ch, note=note, velocity=0)))
        events.sort(key=lambda e: (e[0], e[1]))
        t = 0
        for tick, _, msg in events:
            track.append(msg.copy(time=tick - t))
            t = tick
        return mid


def _chord(root, qual, octave=0):
    return [root + 12 * octave + i for i in QUAL[qual]]


def _tempi(n_beats, bpm, change=None):
    """Constant ``bpm``; ``change`` = (at_beat, new_bpm) for a jump or (start, end, new_bpm) for a ramp."""
    t = np.full(n_beats, float(bpm))
    if change is not None and len(change) == 2:
        t[change[0]:] = change[1]
    elif change is not None:
        s, e, new = change
        t[s:e] = np.linspace(bpm, new, e - s)
        t[e:] = new
    return [round(float(x), 3) for x in t]


def rock(name, bpm, bars=20, change=None, prog="pop", fast_hats=True, desc=""):
    s = Song(name, 4, _tempi(bars * 4, bpm, change), {0: 29, 1: 33, 2: 0}, description=desc)
    chords = PROGS[prog]
    for bar in range(bars):
        b0 = bar * 4
        root, q = chords[bar % len(chords)]
        if bar % 8 == 0:
            s.add(b0, 1, DRUMS, CRASH, 100)
        for k in range(4):
            s.add(b0 + k, 0.25, DRUMS, KICK if k % 2 == 0 else SNARE, 110 if k % 2 == 0 else 100)
            if k == 2:
                s.add(b0 + k + 0.5, 0.25, DRUMS, KICK, 90)
            for h in (0, 0.5) if fast_hats else (0,):
                s.add(b0 + k + h, 0.2, DRUMS, HAT, 70 if h == 0 else 55)
            s.add(b0 + k, 0.9, 1, root - 24, 100)  # bass on every beat
            for n in _chord(root, q, -1):
                s.add(b0 + k, 0.45, 0, n + 7, 75)  # distorted guitar power-ish chords
        for n in _chord(root, q):
            s.add(b0, 3.9, 2, n, 50)
    return s


def waltz(name, bpm, bars=24, change=None, prog="pop", desc=""):
    """Oom-pah-pah: bass on 1, chords on 2 and 3, a strings melody; no drum kit."""
    s = Song(name, 3, _tempi(bars * 3, bpm, change), {0: 0, 1: 32, 2: 48}, description=desc)
    chords = PROGS[prog]
    rng = np.random.default_rng(len(name))
    for bar in range(bars):
        b0 = bar * 3
        root, q = chords[(bar // 2) % len(chords)]
        s.add(b0, 0.9, 1, root - 24, 110)
        for k in (1, 2):
            for n in _chord(root, q):
                s.add(b0 + k, 0.5, 0, n, 70)
        mel = [root + 12 + i for i in QUAL[q]]
        s.add(b0, 2.0, 2, int(rng.choice(mel)), 80)
        s.add(b0 + 2, 1.0, 2, int(rng.choice(mel)) + 2, 70)
    return s


def house(name, bpm, bars=24, change=None, desc=""):
    s = Song(name, 4, _tempi(bars * 4, bpm, change), {0: 4, 1: 38, 2: 81}, description=desc)
    chords = PROGS["minor"]
    for bar in range(bars):
        b0 = bar * 4
        root, q = chords[(bar // 2) % len(chords)]
        for k in range(4):
            s.add(b0 + k, 0.25, DRUMS, KICK, 115)
            s.add(b0 + k + 0.5, 0.25, DRUMS, OPEN_HAT, 70)
            s.add(b0 + k + 0.5, 0.4, 1, root - 24, 100)  # off-beat bass
            if k in (1, 3):
                s.add(b0 + k, 0.25, DRUMS, CLAP, 95)
        for off in (0.75, 2.5):
            for n in _chord(root, q):
                s.add(b0 + off, 0.4, 0, n, 70)
        if bar % 4 >= 2:
            for i, n in enumerate(_chord(root, q, 1) * 2):
                s.add(b0 + i * 0.5, 0.4, 2, n, 60)
    return s


def dnb(name, bpm, bars=32, desc=""):
    """Drum & bass at 170-180: two-step kick/snare, 8th hats, sub bass and pads."""
    s = Song(name, 4, _tempi(bars * 4, bpm), {0: 89, 1: 38, 2: 62}, description=desc)
    chords = PROGS["minor"]
    for bar in range(bars):
        b0 = bar * 4
        root, q = chords[(bar // 2) % len(chords)]
        s.add(b0, 0.25, DRUMS, KICK, 115)
        s.add(b0 + 2.5, 0.25, DRUMS, KICK, 105)
        s.add(b0 + 1, 0.25, DRUMS, SNARE, 110)
        s.add(b0 + 3, 0.25, DRUMS, SNARE, 110)
        for h in np.arange(0, 4, 0.5):
            s.add(b0 + h, 0.2, DRUMS, HAT, 75 if h % 1 == 0 else 55)
        s.add(b0, 1.5, 1, root - 24, 110)
        s.add(b0 + 2.5, 1.0, 1, root - 24, 100)
        for n in _chord(root, q):
            s.add(b0, 4, 0, n, 55)
        s.add(b0 + 1, 0.5, 2, root + 12, 70)
        s.add(b0 + 3, 0.5, 2, root + 15, 70)
    return s


def punk(name, bpm, bars=32, desc=""):
    """Fast 4/4: kick on 1 and 3, snare on 2 and 4, crash-ride quarters, power chords on every 8th."""
    s = Song(name, 4, _tempi(bars * 4, bpm), {0: 30, 1: 34}, description=desc)
    chords = PROGS["pop"]
    for bar in range(bars):
        b0 = bar * 4
        root, q = chords[(bar // 2) % len(chords)]
        for k in range(4):
            s.add(b0 + k, 0.25, DRUMS, KICK if k % 2 == 0 else SNARE, 110)
            s.add(b0 + k, 0.25, DRUMS, RIDE, 80)
            for h in (0, 0.5):
                for n in (root - 12, root - 5):
                    s.add(b0 + k + h, 0.4, 0, n, 90 if h == 0 else 75)
                s.add(b0 + k + h, 0.4, 1, root - 24, 100)
    return s


def ballad(name, bpm, bars=12, desc=""):
    """Slow piano ballad: 8th-note arpeggios, bass on 1 and 3, soft brushes on 2 and 4."""
    s = Song(name, 4, _tempi(bars * 4, bpm), {0: 0, 1: 32, 2: 48}, description=desc)
    chords = PROGS["pop"]
    for bar in range(bars):
        b0 = bar * 4
        root, q = chords[bar % len(chords)]
        arp = _chord(root, q) + [root + 12]
        for i in range(8):
            s.add(b0 + i * 0.5, 0.5, 0, arp[[0, 1, 2, 3, 2, 1, 2, 1][i]], 72 if i % 2 == 0 else 58)
        s.add(b0, 2, 1, root - 24, 100)
        s.add(b0 + 2, 2, 1, root - 17, 90)
        s.add(b0 + 1, 0.25, DRUMS, RIM, 60)
        s.add(b0 + 3, 0.25, DRUMS, RIM, 60)
        s.add(b0, 0.25, DRUMS, KICK, 80)
        s.add(b0, 4, 2, root + 12, 45)
    return s


def funk(name, bpm, bars=20, desc=""):
    """Syncopated 16ths: ghost notes, off-beat kicks, slap bass."""
    s = Song(name, 4, _tempi(bars * 4, bpm), {0: 16, 1: 36, 2: 61}, description=desc)
    chords = PROGS["blues"]
    kick = [0, 0.75, 2.5, 3.25]
    bass = [(0, 0), (0.75, 0), (1.5, 12), (2.5, 7), (3.0, 10), (3.5, 12)]
    for bar in range(bars):
        b0 = bar * 4
        root, q = chords[(bar // 2) % len(chords)]
        for k in kick:
            s.add(b0 + k, 0.2, DRUMS, KICK, 110)
        for k in (1, 3):
            s.add(b0 + k, 0.2, DRUMS, SNARE, 110)
        for h in np.arange(0, 4, 0.25):
            s.add(b0 + h, 0.1, DRUMS, HAT, 70 if h % 1 == 0 else (35 if h % 0.5 else 50))
        for off, semi in bass:
            s.add(b0 + off, 0.2, 1, root - 24 + semi, 100)
        for off in (0.5, 1.75, 2.5):
            for n in _chord(root, q):
                s.add(b0 + off, 0.2, 0, n, 70)
        if bar % 2:
            s.add(b0 + 3.5, 0.5, 2, root + 12, 90)
    return s


def strings_only(name, bpm, bars=16, desc=""):
    """No percussion: legato strings, piano chords on each beat, pizzicato bass - hard for onset trackers."""
    s = Song(name, 4, _tempi(bars * 4, bpm), {0: 0, 1: 45, 2: 48}, description=desc)
    chords = PROGS["jazz"]
    for bar in range(bars):
        b0 = bar * 4
        root, q = chords[bar % len(chords)]
        for k in range(4):
            for n in _chord(root, q):
                s.add(b0 + k, 0.8, 0, n, 80 if k == 0 else 62)
            s.add(b0 + k, 0.6, 1, root - 24 + (0, 7, 12, 7)[k], 95)
        s.add(b0, 4, 2, root + 12, 70)
    return s


def reggaeton(name, bpm, bars=24, desc=""):
    """Dembow: kick on every beat, snare on the 'a' of 1 and the 'and' of 2 (3-3-2 feel)."""
    s = Song(name, 4, _tempi(bars * 4, bpm), {0: 80, 1: 38, 2: 5}, description=desc)
    chords = PROGS["minor"]
    for bar in range(bars):
        b0 = bar * 4
        root, q = chords[bar % len(chords)]
        for half in (0, 2):
            s.add(b0 + half, 0.2, DRUMS, KICK, 115)
            s.add(b0 + half + 1, 0.2, DRUMS, KICK, 110)
            s.add(b0 + half + 0.75, 0.2, DRUMS, SNARE, 100)
            s.add(b0 + half + 1.5, 0.2, DRUMS, SNARE, 100)
        for h in np.arange(0, 4, 0.5):
            s.add(b0 + h, 0.1, DRUMS, HAT, 55)
        s.add(b0, 1.5, 1, root - 24, 105)
        s.add(b0 + 1.5, 1, 1, root - 24, 95)
        s.add(b0 + 2.5, 1.5, 1, root - 22, 95)
        for n in _chord(root, q):
            s.add(b0, 3.5, 2, n, 55)
        s.add(b0 + 0.5, 0.5, 0, root + 12, 80)
        s.add(b0 + 2.5, 0.5, 0, root + 14, 80)
    return s


SONGS: List[Callable[[], Song]] = [
    lambda: rock("pop_rock_120", 120, desc="4/4 120 BPM rock: kick/snare, 8th hats, bass"),
    lambda: ballad("piano_ballad_64", 64, desc="4/4 64 BPM piano ballad, 8th arpeggios"),
    lambda: waltz("waltz_96_3-4", 96, desc="3/4 96 BPM oom-pah-pah, no drums"),
    lambda: waltz("viennese_waltz_180_3-4", 180, bars=40, prog="minor", desc="3/4 180 BPM fast waltz"),
    lambda: house("house_124", 124, desc="4/4 124 BPM four-on-the-floor, off-beat bass"),
    lambda: dnb("dnb_174", 174, desc="4/4 174 BPM drum & bass, two-step"),
    lambda: punk("punk_186", 186, desc="4/4 186 BPM punk, 8th power chords"),
    lambda: funk("funk_98", 98, desc="4/4 98 BPM syncopated 16th funk"),
    lambda: strings_only("strings_108", 108, desc="4/4 108 BPM strings+piano, no percussion"),
    lambda: reggaeton("reggaeton_94", 94, desc="4/4 94 BPM dembow"),
    lambda: rock("tempo_jump_100-140", 100, bars=24, change=(48, 140), prog="blues", desc="4/4 100 -> 140 BPM jump at bar 13"),
    lambda: house("accelerando_90-130", 90, bars=28, change=(24, 88, 130), desc="4/4 ramp 90 -> 130 BPM over 16 bars"),
    lambda: waltz("waltz_ritardando_150-110_3-4", 150, bars=32, change=(36, 72, 110), prog="jazz", desc="3/4 ramp 150 -> 110 BPM"),
    lambda: rock("rock_fast_176_quarter_hats", 176, bars=32, fast_hats=False, prog="minor", desc="4/4 176 BPM, quarter hats"),
]


def build(out_dir: Path, soundfont=None) -> List[dict]:
    """Render every song to ``out_dir`` (wav + .beats.json); returns the annotation records."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from magicdance_core.audio.midi_render import render_midi

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = []
    for make in SONGS:
        song = make()
        wav = out_dir / f"{song.name}.wav"
        ann = out_dir / f"{song.name}.beats.json"
        rec = {
            "name": song.name, "wav": str(wav), "meter": song.meter, "description": song.description,
            "tempo_range_bpm": [min(song.tempi), max(song.tempi)],
            "beats_s": song.beat_times().round(6).tolist(), "downbeats_s": song.downbeat_times().round(6).tolist(),
        }
        if not wav.exists():
            mid = song.to_midi(seed=1)
            mid.save(str(out_dir / f"{song.name}.mid"))
            render_midi(mid, wav, soundfont=soundfont)
        ann.write_text(json.dumps(rec))
        records.append(rec)
    return records


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out_dir", nargs="?", default="/tmp/magicdance_beat_songs")
    a = ap.parse_args()
    for r in build(Path(a.out_dir)):
        print(r["name"], len(r["beats_s"]), "beats")
