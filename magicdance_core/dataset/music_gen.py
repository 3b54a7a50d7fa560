"""Generated training music: MIDI songs per style whose beats are known exactly.

Each song is drums + bass + chords (+ a sparse melody) in the style's idiom, at a
constant tempo, in 4/4 or 3/4 (waltz), arranged in 8-bar sections of varying
energy (intro, verse, chorus, break) so the dance has quiet and loud parts to
follow. Beat and downbeat times come from the score, not from a beat tracker.
Rendering goes through the audio owner's GM-soundfont renderer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TICKS = 480  # per beat
DRUMS = 9

# GM drum notes
KICK, SNARE, CLAP, CHH, OHH, CRASH, RIDE, CONGA_HI, CONGA_LO, CLAVES, SHAKER, COWBELL = 36, 38, 39, 42, 46, 49, 51, 62, 64, 75, 70, 56

# Per style: tempo range (beats/min), meter, GM programs (bass, chords, melody), drum pattern on a
# 16th grid per bar {note: steps}; 3/4 uses a 12-step bar.
STYLE_MUSIC = {
    "house": dict(tempo=(116, 132), meter=4, programs=(38, 89, 81),
                  drums={KICK: [0, 4, 8, 12], CLAP: [4, 12], OHH: [2, 6, 10, 14], CHH: list(range(0, 16, 1))}),
    "hiphop": dict(tempo=(78, 102), meter=4, programs=(33, 4, 11),
                   drums={KICK: [0, 7, 10], SNARE: [4, 12], CHH: list(range(0, 16, 2))}),
    "pop": dict(tempo=(92, 128), meter=4, programs=(34, 0, 73),
                drums={KICK: [0, 8, 10], SNARE: [4, 12], CHH: list(range(0, 16, 2))}),
    "disco": dict(tempo=(108, 128), meter=4, programs=(36, 48, 61),
                  drums={KICK: [0, 4, 8, 12], SNARE: [4, 12], OHH: [2, 6, 10, 14], CHH: [0, 1, 3, 4, 5, 7, 8, 9, 11, 12, 13, 15]}),
    "waltz": dict(tempo=(84, 180), meter=3, programs=(43, 48, 40),
                  drums={KICK: [0], CHH: [4, 8]}),
    "ballet": dict(tempo=(60, 100), meter=4, programs=(42, 0, 73),
                   drums={}),
    "latin": dict(tempo=(88, 124), meter=4, programs=(32, 0, 56),
                  drums={KICK: [0, 10], CLAVES: [0, 6, 12], CONGA_HI: [2, 6, 10, 14], CONGA_LO: [7, 15], SHAKER: list(range(0, 16, 2)), COWBELL: [0, 4, 8, 12]}),
}

PROGRESSIONS = ([0, 5, 3, 4], [0, 3, 4, 4], [5, 3, 0, 4], [0, 4, 5, 3], [1, 4, 0, 0], [0, 0, 3, 4])
MAJOR = [0, 2, 4, 5, 7, 9, 11]
PENTA = [0, 2, 4, 7, 9]


@dataclass
class GeneratedSong:
    midi: object            # mido.MidiFile
    style: str
    bpm: float
    meter: int
    beats_s: np.ndarray
    downbeats_s: np.ndarray
    duration_s: float
    sections: list          # (first bar, name, energy 0..1)


def generate_song(style: str, seed: int, duration_s: float = 75.0, bpm: float | None = None) -> GeneratedSong:
    """A song in ``style`` (a key of STYLE_MUSIC), deterministic per seed."""
    import mido

    spec = STYLE_MUSIC[style]
    rng = np.random.default_rng(seed)
    if bpm is None:
        lo, hi = spec["tempo"]
        # One song in eight is far outside the style's range: dances must cope with half/double time.
        bpm = float(rng.uniform(lo, hi) if rng.random() > 0.125 else rng.choice([rng.uniform(62, 75), rng.uniform(150, 175)]))
    bpm = float(round(bpm, 2))
    meter = spec["meter"]
    steps = 4 * meter  # 16th steps per bar
    beat_s = 60.0 / bpm
    n_bars = max(2, int(np.ceil(duration_s / (beat_s * meter))))
    root = 36 + int(rng.integers(0, 12))  # bass octave
    prog = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
    bass_p, chord_p, mel_p = spec["programs"]
    sections = []
    names = ["intro", "verse", "chorus", "break", "verse", "chorus", "chorus", "outro"]
    energies = {"intro": 0.3, "verse": 0.55, "chorus": 1.0, "break": 0.15, "outro": 0.35}
    for s in range(0, n_bars, 8):
        name = names[(s // 8) % len(names)]
        sections.append((s, name, energies[name]))

    mid = mido.MidiFile(ticks_per_beat=TICKS)
    events = {ch: [] for ch in (0, 1, 2, DRUMS)}

    def note(ch, tick, pitch, dur, vel):
        events[ch].append((int(tick), 1, int(pitch), int(vel)))
        events[ch].append((int(tick + max(dur, 10)), 0, int(pitch), 0))

    step_t = TICKS // 4
    for bar in range(n_bars):
        sec = [s for s in sections if s[0] <= bar][-1]
        energy = sec[2]
        t0 = bar * meter * TICKS
        degree = prog[bar % len(prog)]
        chord_root = root + MAJOR[degree % 7]
        third = root + MAJOR[(degree + 2) % 7] + (12 if (degree + 2) >= 7 else 0)
        fifth = root + MAJOR[(degree + 4) % 7] + (12 if (degree + 4) >= 7 else 0)
        # Drums (none in ballet; only the kick in a break).
        for drum, pat in spec["drums"].items():
            if energy < 0.2 and drum != KICK:
                continue
            if energy < 0.4 and drum in (CHH, SHAKER, COWBELL) and style != "waltz":
                continue
            for st in pat:
                if st >= steps:
                    continue
                vel = 100 if st % 4 == 0 else 75
                note(DRUMS, t0 + st * step_t, drum, step_t, int(vel * (0.6 + 0.4 * energy)))
        if energy >= 1.0 and bar == sec[0] and spec["drums"]:
            note(DRUMS, t0, CRASH, TICKS, 110)
        # Bass: on every beat (waltz: beat 1), octave jumps on offbeats in the dance styles.
        for b in range(meter):
            if style == "waltz" and b > 0:
                continue
            note(1, t0 + b * TICKS, chord_root, TICKS * (0.9 if style != "waltz" else 2.7), int(70 + 40 * energy))
            if style in ("house", "disco") and energy >= 0.5:
                note(1, t0 + b * TICKS + TICKS // 2, chord_root + 12, TICKS // 3, 80)
        # Chords: sustained pad (ballet, intro) or stabs on beats (waltz: 2 and 3).
        chord = [chord_root + 12, third + 12, fifth + 12]
        if style == "waltz":
            for b in (1, 2):
                for p in chord:
                    note(2, t0 + b * TICKS, p, TICKS * 0.8, 70)
        elif style == "ballet":
            for i in range(meter * 2):  # arpeggio in eighths
                note(2, t0 + i * TICKS // 2, chord[i % 3] + 12 * (i // 3 % 2), TICKS // 2, 60 + 8 * (i % 2 == 0))
        else:
            stab = (0, 2) if style in ("hiphop", "pop") else (0, 1, 2, 3)
            for b in stab:
                for p in chord:
                    note(2, t0 + b * TICKS + (TICKS // 2 if style == "house" else 0), p, TICKS * 0.45, int(55 + 30 * energy))
        # Melody: a few pentatonic notes on beats in choruses and verses.
        if energy >= 0.5:
            for b in range(meter):
                if rng.random() < 0.6:
                    p = root + 24 + PENTA[int(rng.integers(len(PENTA)))] + (12 if rng.random() < 0.3 else 0)
                    note(0, t0 + b * TICKS, p, TICKS * (0.9 if rng.random() < 0.5 else 0.45), 80)

    tempo = mido.bpm2tempo(bpm)
    for ch, prog_no in ((0, mel_p), (1, bass_p), (2, chord_p), (DRUMS, None)):
        track = mido.MidiTrack()
        mid.tracks.append(track)
        if ch == 0:
            track.append(mido.MetaMessage("set_tempo", tempo=tempo, time=0))
            track.append(mido.MetaMessage("time_signature", numerator=meter, denominator=4, time=0))
        if prog_no is not None:
            track.append(mido.Message("program_change", channel=ch, program=int(prog_no), time=0))
        last = 0
        for tick, on, pitch, vel in sorted(events[ch], key=lambda e: (e[0], e[1])):
            track.append(mido.Message("note_on" if on else "note_off", channel=ch, note=pitch,
                                      velocity=vel if on else 0, time=tick - last))
            last = tick
    n_beats = n_bars * meter
    beats = np.arange(n_beats) * beat_s
    downbeats = beats[::meter]
    return GeneratedSong(mid, style, bpm, meter, beats, downbeats, n_beats * beat_s, sections)
