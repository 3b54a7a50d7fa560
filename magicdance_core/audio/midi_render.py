"""Render a MIDI file to a WAV through a General MIDI soundfont (offline, no audio device).

Used to make music whose beats are known exactly (benchmarks, training music). The synth is
TinySoundFont's Python binding (``tinysoundfont``, MIT); it only needs pyaudio for live playback,
which we never use, so it is installed with ``pip install --no-deps``. The soundfont is the
user's ($MAGICDANCE_SOUNDFONT), Debian's ``fluid-soundfont-gm`` (FluidR3_GM.sf2, MIT) when
installed, else TimGM6mb.sf2 (GPL-2, Tim Brechbill) from the pretty_midi wheel that
scripts/setup.sh installs: we only read that data file and never import pretty_midi.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Union

import numpy as np

from ..errors import BadInput, MissingModel
from ..fileio import atomic_path

PathLike = Union[str, os.PathLike]

SOUNDFONT_CANDIDATES = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
)
DRUM_CHANNEL = 9
TAIL_S = 1.5  # let the last notes ring out


def find_soundfont(soundfont: Optional[PathLike] = None) -> Path:
    """The soundfont to use: the argument, $MAGICDANCE_SOUNDFONT, or a system GM soundfont."""
    if soundfont:
        p = Path(soundfont)
        if not p.is_file():
            raise MissingModel(f"soundfont not found: {p}")
        return p
    env = os.environ.get("MAGICDANCE_SOUNDFONT")
    if env:
        return find_soundfont(env)
    for c in SOUNDFONT_CANDIDATES:
        if Path(c).is_file():
            return Path(c)
    packaged = packaged_soundfont()
    if packaged is not None:
        return packaged
    raise MissingModel(
        "no General MIDI soundfont found: run scripts/setup.sh (it installs one), install Debian's "
        "fluid-soundfont-gm, or pass a .sf2 file / set MAGICDANCE_SOUNDFONT"
    )


def packaged_soundfont() -> Optional[Path]:
    """TimGM6mb.sf2 inside the installed pretty_midi package (located, not imported), or None."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("pretty_midi")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        sf = Path(folder) / "TimGM6mb.sf2"
        if sf.is_file():
            return sf
    return None


def _load_midi(midi):
    import mido

    if isinstance(midi, mido.MidiFile):
        return midi
    p = Path(midi)
    if not p.is_file():
        raise BadInput(f"MIDI file not found: {p}")
    try:
        return mido.MidiFile(str(p))
    except (OSError, EOFError, ValueError, KeyError, IndexError) as e:
        raise BadInput(f"not a MIDI file we can read: {p.name} ({e})") from None


def render_midi_array(midi, soundfont: Optional[PathLike] = None, sr: int = 44100, gain_db: float = -6.0) -> np.ndarray:
    """Render to a float32 stereo array (n, 2) in [-1, 1]."""
    try:
        import tinysoundfont
    except ImportError:
        raise MissingModel("MIDI rendering needs tinysoundfont: pip install --no-deps tinysoundfont==0.3.7") from None
    mid = _load_midi(midi)
    sf_path = find_soundfont(soundfont)
    synth = tinysoundfont.Synth(gain=gain_db, samplerate=sr)
    try:
        sfid = synth.sfload(str(sf_path))
    except Exception as e:  # the binding raises its own or RuntimeError for a bad file
        raise MissingModel(f"cannot load soundfont {sf_path}: {e}") from None
    for ch in range(16):
        synth.program_select(ch, sfid, 128 if ch == DRUM_CHANNEL else 0, 0, is_drums=ch == DRUM_CHANNEL)

    chunks = []
    t_now = 0  # samples rendered so far
    t_event = 0.0  # seconds; mido's iteration converts ticks with every tempo change applied
    for msg in mid:
        t_event += msg.time
        target = int(round(t_event * sr))
        if target > t_now:
            chunks.append(np.frombuffer(synth.generate(target - t_now), dtype=np.float32).copy())
            t_now = target
        if msg.is_meta:
            continue
        kind = msg.type
        if kind == "note_on" and msg.velocity > 0:
            synth.noteon(msg.channel, msg.note, msg.velocity)
        elif kind == "note_off" or (kind == "note_on" and msg.velocity == 0):
            synth.noteoff(msg.channel, msg.note)
        elif kind == "program_change":
            drums = msg.channel == DRUM_CHANNEL
            try:
                synth.program_select(msg.channel, sfid, 128 if drums else 0, msg.program, is_drums=drums)
            except RuntimeError:
                pass  # a preset the soundfont lacks: keep the previous one
        elif kind == "control_change":
            synth.control_change(msg.channel, msg.control, msg.value)
        elif kind == "pitchwheel":
            synth.pitchbend(msg.channel, msg.pitch + 8192)
    synth.notes_off()
    chunks.append(np.frombuffer(synth.generate(int(TAIL_S * sr)), dtype=np.float32).copy())
    audio = np.concatenate(chunks).reshape(-1, 2)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak > 0.99:  # dense arrangements can clip: scale down rather than distort
        audio *= 0.99 / peak
    return audio


def render_midi(midi, out_wav: PathLike, soundfont: Optional[PathLike] = None, sr: int = 44100) -> Path:
    """Render ``midi`` (a path or a ``mido.MidiFile``) to a 16-bit stereo WAV at ``out_wav``."""
    import soundfile

    audio = render_midi_array(midi, soundfont=soundfont, sr=sr)
    out = Path(out_wav)
    with atomic_path(out) as tmp:
        soundfile.write(str(tmp), audio, sr, subtype="PCM_16", format="WAV")
    return out
