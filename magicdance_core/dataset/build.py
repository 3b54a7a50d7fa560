"""Build training windows: generated songs danced by the choreographer, real songs, or AIST++.

``build_generated``: for each song, a style is drawn, a MIDI song is generated in
it (exact beats), rendered through the GM soundfont, analysed for EDGE's 35-dim
features, and danced by :func:`magicdance_core.choreo.compose.choreograph` on the
exact beats. Songs from a real-music corpus folder (``scripts/build_corpus.py``)
are added with the beat tracker's beats. ``build_aist``: AIST++'s motions/*.pkl
with wav/*.wav (matched by the music id in the motion name, e.g. ``mBR0``).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import BadInput
from ..progress import null_progress
from .windows import STYLE_NAMES, WindowWriter

AUDIO_EXT = (".wav", ".ogg", ".mp3", ".flac", ".opus", ".m4a")


def _mono(audio: np.ndarray) -> np.ndarray:
    return audio.mean(axis=1).astype(np.float32) if audio.ndim == 2 else audio.astype(np.float32)


def _fit_frames(x: np.ndarray, n: int) -> np.ndarray:
    if len(x) >= n:
        return x[:n]
    pad = np.repeat(x[-1:], n - len(x), axis=0)
    return np.concatenate([x, pad])


def _add_dance(writer: WindowWriter, analysis, style: str, seed: int, info: dict) -> int:
    from ..choreo.compose import choreograph

    from ..motion.music_input import metrical_phase

    motion = choreograph(analysis, style=style, seed=seed)
    n = motion.num_frames
    music = _fit_frames(np.asarray(analysis.edge35, np.float32), n)
    phase = metrical_phase(analysis.beats_s, analysis.downbeats_s, n, float(analysis.fps))
    return writer.add_song(music, motion.poses, motion.trans, motion.contacts, style,
                           {**info, "seed": seed, "moves": len(motion.meta.get("moves", []))}, phase=phase)


def build_generated(out_dir, hours: float = 1.0, seed: int = 0, progress=None, *, corpus: Optional[str] = None,
                    styles=None, song_seconds=(50.0, 95.0), keep_audio: bool = False,
                    styles_per_song: int = 1) -> Path:
    """Write a dataset of about ``hours`` hours of dance to ``out_dir``; returns index.json's path.

    ``styles_per_song`` > 1 dances every song in that many different styles (its own first).
    Generated songs are written in their style's idiom, so with one style per song the music
    alone tells the style and a model trained on it learns to ignore the style label.
    """
    from ..audio.analysis import analyze_music, analyze_samples
    from ..audio.midi_render import render_midi_array
    from .music_gen import generate_song

    report = progress or null_progress
    if not hours or hours <= 0:
        raise BadInput("--hours must be positive")
    styles = list(styles or STYLE_NAMES)
    if styles_per_song < 1:
        raise BadInput("--styles-per-song must be at least 1")
    for s in styles:
        if s not in STYLE_NAMES:
            raise BadInput(f"unknown style {s!r}; choose from: {', '.join(STYLE_NAMES)}")
    out = Path(out_dir)
    writer = WindowWriter(out, source="generated")
    rng = np.random.default_rng(seed)
    target = hours * 3600.0
    total = 0.0
    real = _corpus_songs(corpus) if corpus else []
    i = 0
    report("dataset", 0.0, "starting")
    while total < target:
        if real and i % 3 == 2:  # one song in three from the real corpus, while it lasts
            path = real.pop(0)
            try:
                analysis = analyze_music(path)
            except BadInput:
                i += 1
                continue
            style = "waltz" if analysis.meter == 3 else str(rng.choice([s for s in styles if s != "waltz"] or styles))
            from ..fileio import sha256_file

            # the sha256 lets benchmarks/motion/corpus_manifest.py prove a test song is not in here
            info = {"source": "real", "file": Path(path).name, "sha256": sha256_file(path),
                    "bpm": round(float(analysis.tempo_bpm), 2)}
        else:
            style = styles[int(rng.integers(len(styles)))]
            song = generate_song(style, seed=int(rng.integers(2 ** 31)), duration_s=float(rng.uniform(*song_seconds)))
            audio = render_midi_array(song.midi)
            if keep_audio:
                import soundfile

                (out / "audio").mkdir(exist_ok=True)
                soundfile.write(str(out / "audio" / f"song_{i:05d}.wav"), audio, 44100, subtype="PCM_16")
            analysis = analyze_samples(_mono(audio), 44100)
            # Dance to the score's exact beats; the features stay those of the audio.
            analysis = dataclasses.replace(analysis, beats_s=song.beats_s, downbeats_s=song.downbeats_s,
                                           meter=song.meter, tempo_bpm=song.bpm)
            info = {"source": "generated", "bpm": song.bpm, "meter": song.meter}
        dance_seed = int(seed) * 100003 + i
        _add_dance(writer, analysis, style, dance_seed, info)
        others = [s for s in styles if s != style and (s != "waltz" or analysis.meter == 3)]  # waltz needs 3/4
        for extra in rng.permutation(others)[:styles_per_song - 1]:
            _add_dance(writer, analysis, str(extra), dance_seed, {**info, "restyled_from": style})
            total += float(analysis.duration_s)
        total += float(analysis.duration_s)
        i += 1
        report("dataset", min(total / target, 0.999), f"{i} songs, {total / 60:.1f} min, {writer.n_windows} windows")
    path = writer.close({"seed": int(seed)})
    report("dataset", 1.0, f"{writer.n_windows} windows in {out}")
    return path


def _corpus_songs(folder) -> list:
    root = Path(folder)
    if not root.is_dir():
        raise BadInput(f"corpus folder not found: {root}")
    return sorted(str(p) for p in root.rglob("*") if p.suffix.lower() in AUDIO_EXT and p.is_file())


_MUSIC_ID = re.compile(r"(m[A-Z]{2}\d)")


def build_aist(aist_dir, out_dir, progress=None) -> Path:
    """Windows from an AIST++ download: ``motions/*.pkl`` and ``wav/*.wav`` (music id e.g. mBR0)."""
    from ..audio.analysis import analyze_music
    from ..body.aist import read_aist
    from ..body.ground import estimate_contacts

    report = progress or null_progress
    root = Path(aist_dir)
    mdir, wdir = root / "motions", root / "wav"
    if not mdir.is_dir() or not wdir.is_dir():
        raise BadInput(f"not an AIST++ folder (needs motions/ and wav/): {root}")
    motions = sorted(mdir.glob("*.pkl"))
    if not motions:
        raise BadInput(f"no motion .pkl files in {mdir}")
    wavs = {p.stem: p for p in wdir.glob("*.wav")}
    writer = WindowWriter(out_dir, source="aist++")
    cache: dict = {}
    genre_style = {"BR": "hiphop", "PO": "popping", "LO": "hiphop", "MH": "hiphop", "LH": "house", "HO": "house",
                   "WA": "pop", "KR": "hiphop", "JS": "pop", "JB": "ballet"}
    skipped = []
    for k, mp in enumerate(motions):
        m = _MUSIC_ID.search(mp.stem)
        if not m or m.group(1) not in wavs:
            skipped.append(mp.name)
            continue
        music_id = m.group(1)
        if music_id not in cache:
            cache[music_id] = analyze_music(wavs[music_id])
        analysis = cache[music_id]
        motion = read_aist(mp)
        contacts = motion.contacts
        if contacts is None or not np.any(contacts):
            contacts = estimate_contacts(motion.joints, motion.fps)
        style = genre_style.get(music_id[1:3])
        style = style if style in STYLE_NAMES else None
        n = min(motion.num_frames, len(analysis.edge35))
        from ..motion.music_input import metrical_phase

        phase = metrical_phase(analysis.beats_s, analysis.downbeats_s, n, float(analysis.fps))
        writer.add_song(analysis.edge35[:n], motion.poses[:n], motion.trans[:n], contacts[:n], style,
                        {"source": "aist++", "file": mp.name, "music": music_id, "genre": music_id[1:3]}, phase=phase)
        report("aist", (k + 1) / len(motions), mp.name)
    if writer.n_windows == 0:
        raise BadInput(f"no AIST++ motion in {mdir} had a matching wav of at least 5 s in {wdir}")
    return writer.close({"skipped": skipped})
