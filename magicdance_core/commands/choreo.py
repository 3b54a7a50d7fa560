"""``magicdance choreo SONG --style house [--seed N] -o dance.npz``: the procedural choreographer."""

from __future__ import annotations

NAME = "choreo"
HELP = "dance a song with the procedural choreographer (deterministic per seed) -> motion .npz"
DESCRIPTION = (
    "Analyse SONG (or read a music.json from 'magicdance analyze') and compose a dance from the "
    "move library in the chosen style: moves on the beats, phrases from the bars, planted feet."
)


def add_arguments(p) -> None:
    from ..choreo.styles import STYLES

    p.add_argument("song", help="audio file, or a music.json written by 'magicdance analyze'")
    p.add_argument("--style", default="house", help=f"one of: {', '.join(STYLES)} (default house)")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same dance)")
    p.add_argument("-o", "--out", default=None, help="motion file to write (default: ./<song-stem>.<style>.npz)")


def run(args, progress) -> int:
    from pathlib import Path

    from ..body.motion_file import save_motion
    from ..choreo.compose import choreograph
    from ..choreo.styles import get_style
    from ..errors import BadInput
    from ..fileio import sha256_file

    from ..checks import check_output, check_seed, check_song

    try:  # unknown style: one line naming the flag and listing the styles, before any work
        get_style(args.style)
    except BadInput as e:
        raise BadInput(f"--style: {e}") from None
    check_seed(args.seed)
    song = check_song(args.song, "SONG", analysis_ok=True)
    out = Path(args.out) if args.out else Path.cwd() / f"{song.stem}.{args.style}.npz"
    check_output(out, "-o", inputs={"SONG": song}, suffixes=(".npz",))
    if song.suffix.lower() == ".json":
        from ..audio.analysis import MusicAnalysis

        try:
            analysis = MusicAnalysis.from_json(song)
        except (ValueError, KeyError) as e:
            raise BadInput(f"SONG: not a music.json: {song} ({e})") from None
    else:
        from ..audio.analysis import analyze_music

        analysis = analyze_music(song, progress=progress)
    motion = choreograph(analysis, style=args.style, seed=args.seed, progress=progress)
    motion.meta["music_sha256"] = sha256_file(song)
    motion.meta["music"] = song.name
    save_motion(motion, out)
    moves = motion.meta.get("moves", [])
    print(f"{out}  ({motion.num_frames} frames, {motion.duration_s:.1f} s, {len(moves)} moves, "
          f"{len({m[0] for m in moves})} distinct, style {args.style}, seed {args.seed})")
    return 0
