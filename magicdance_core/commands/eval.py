"""``magicdance eval MOTION... --music SONG [--json OUT]``: measure dances."""

from __future__ import annotations

NAME = "eval"
HELP = "measure dances: beat alignment, PFC, foot skating, penetration, jerk, joint limits, Div/FID"
DESCRIPTION = (
    "Measure one or more motion files (.npz) against a song: beat alignment (Bailando and FACT "
    "variants), PFC, foot-skate ratio, ground penetration, jerk, joint-limit violations, movement "
    "tempo, and Div_k/Div_g across the given motions (FID_k/FID_g too with --reference). "
    "See docs/metrics.md."
)


def add_arguments(p) -> None:
    p.add_argument("motions", nargs="+", metavar="MOTION", help="motion .npz files")
    p.add_argument("--music", metavar="SONG", help="the song (audio file, or a music.json from 'magicdance analyze')")
    p.add_argument("--reference", nargs="+", metavar="MOTION", help="ground-truth motions for FID and Div normalisation")
    p.add_argument("--json", metavar="OUT", help="write all numbers to this JSON file")


def music_beats(path, progress=None):
    """(beats_s, tempo_bpm) of a song or of a saved music analysis (.json)."""
    from pathlib import Path

    import numpy as np

    from ..fileio import require_file

    p = require_file(path, "music file")
    try:
        from ..audio.analysis import MusicAnalysis, analyze_music
    except ImportError:  # the audio stage not there yet: librosa's tracker directly
        from ..audio.decode import load_audio
        import librosa

        y, sr = load_audio(p, sr=22050)
        tempo, frames = librosa.beat.beat_track(y=y, sr=sr)
        return librosa.frames_to_time(frames, sr=sr), float(np.atleast_1d(tempo)[0])
    if Path(p).suffix.lower() == ".json":
        a = MusicAnalysis.from_json(p)
    else:
        a = analyze_music(p, progress=progress)
    return np.asarray(a.beats_s, dtype=np.float64), float(a.tempo_bpm)


def run(args, progress) -> int:
    import json
    from pathlib import Path

    from ..body.motion_file import load_motion
    from ..errors import BadInput
    from ..fileio import atomic_write_text
    from ..metrics.report import PROTOCOL, format_table, motion_metrics, set_metrics

    from ..checks import check_input_file, check_output, check_song

    inputs = [("MOTION", m) for m in args.motions] + [("--reference", m) for m in args.reference or []]
    if args.music:
        inputs.append(("--music", check_song(args.music, "--music", analysis_ok=True)))
    for fl, path in inputs:
        check_input_file(path, fl, "motion file" if fl != "--music" else "song")
    if args.json:
        check_output(args.json, "--json", inputs=inputs, suffixes=(".json",))
    motions = []
    for i, path in enumerate(args.motions):
        progress("load", i / len(args.motions), Path(path).name)
        motions.append((path, load_motion(path)))
    progress("load", 1.0, f"{len(motions)} motions")
    reference = None
    if args.reference:
        reference = [load_motion(p) for p in args.reference]
    fps_set = {round(m.fps, 3) for _, m in motions} | ({round(m.fps, 3) for m in reference} if reference else set())
    if len(fps_set) > 1:
        raise BadInput(f"motions have different frame rates {sorted(fps_set)}; resample them first")
    fps = motions[0][1].fps

    beats = tempo = None
    if args.music:
        beats, tempo = music_beats(args.music, progress=progress)

    rows = []
    for i, (path, m) in enumerate(motions):
        progress("measure", i / len(motions), Path(path).name)
        rows.append((Path(path).name, motion_metrics(m.joints.astype("float64"), fps, beats)))
    progress("measure", 1.0, "")
    set_row = set_metrics([m.joints.astype("float64") for _, m in motions], fps,
                          [r.joints.astype("float64") for r in reference] if reference else None)

    print(format_table(rows, set_row, tempo))
    if args.json:
        doc = {
            "music": None if not args.music else {"path": str(args.music), "tempo_bpm": tempo,
                                                 "n_beats": int(len(beats))},
            "motions": [{"path": str(p), **r} for (p, _), (_, r) in zip(motions, rows)],
            "set": set_row,
            "protocol": PROTOCOL,
        }
        atomic_write_text(args.json, json.dumps(doc, indent=1))
    return 0
