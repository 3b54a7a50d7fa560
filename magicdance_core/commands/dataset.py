"""``magicdance dataset build|aist|animator``: training windows of (music features, motion, style);
``animator``: clips of a textured body dancing with their DensePose pass (diffusion animator training)."""

from __future__ import annotations

NAME = "dataset"
HELP = ("build training windows: generated music danced by the choreographer, or an AIST++ download; "
        "or animator clips (frames + DensePose) for train-animator")
DESCRIPTION = (
    "build: generate songs per style (exact beats), render them through the GM soundfont, dance them "
    "with the choreographer and cut 5 s windows (2.5 s stride). aist: the same windows from an AIST++ "
    "folder (motions/*.pkl, wav/*.wav). The format is described in docs/choreo.md. animator: short "
    "clips of the built-in body, textured, dancing the choreographer's dances, with their exact "
    "DensePose pass and a reference frame (docs/diffusion_training.md)."
)


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="dataset_cmd", metavar="build|aist|animator")
    b = sub.add_parser("build", help="generated songs danced by the choreographer")
    b.add_argument("--out", required=True, help="output folder (shards + index.json)")
    b.add_argument("--hours", type=float, default=1.0, help="hours of dance to generate (default 1)")
    b.add_argument("--seed", type=int, default=0,
                   help="random seed of the generated songs and dances (same seed, same dataset; default 0)")
    b.add_argument("--styles", default=None, help="comma-separated styles (default: all)")
    b.add_argument("--corpus", default=None, help="also use real songs from this folder (scripts/build_corpus.py)")
    b.add_argument("--keep-audio", action="store_true", help="also keep the rendered songs as WAV under OUT/audio")
    b.add_argument("--styles-per-song", type=int, default=1, metavar="N",
                   help="dance every song in N different styles, so the style label (not the music) "
                        "decides the style a model learns (default 1)")
    a = sub.add_parser("aist", help="windows from an AIST++ download")
    a.add_argument("aist_dir", help="folder with motions/*.pkl and wav/*.wav")
    a.add_argument("--out", required=True, help="output folder")
    m = sub.add_parser("animator", help="clips of a textured body dancing + DensePose (train-animator's data)")
    m.add_argument("--out", required=True, help="output folder (clip_NNNN/{frames,densepose}/ + index.json)")
    m.add_argument("--clips", type=int, default=8, help="number of clips (default 8; the last one in eight is held out)")
    m.add_argument("--size", type=int, default=256, help="frame side in pixels, a multiple of 8 (default 256)")
    m.add_argument("--frames", type=int, default=24, help="frames per clip at 30 fps (default 24)")
    m.add_argument("--seed", type=int, default=0, help="same seed, same clips (default 0)")


def run(args, progress) -> int:
    from ..checks import check_number, check_output, check_seed
    from ..errors import BadInput

    if args.dataset_cmd == "animator":
        from ..dataset.animator import check_args, make_animator_dataset

        check_output(args.out, "--out", folder=True)
        check_args(args.clips, args.size, args.frames)
        check_seed(args.seed)
        path = make_animator_dataset(args.out, clips=args.clips, size=args.size, frames=args.frames,
                                     seed=args.seed, progress=progress)
        import json

        idx = json.loads(path.read_text())
        n_val = sum(c["split"] == "val" for c in idx["clips"])
        print(f"{path}  ({len(idx['clips'])} clips of {idx['frames']} frames at {idx['size']}², {n_val} held out)")
        return 0
    if args.dataset_cmd in ("build", "aist"):
        inputs = {"--corpus": getattr(args, "corpus", None), "AIST_DIR": getattr(args, "aist_dir", None)}
        check_output(args.out, "--out", folder=True, inputs=inputs)
    if args.dataset_cmd == "build":
        from ..choreo.styles import STYLES
        from ..dataset.build import build_generated

        check_number(args.hours, "--hours", 0, 1000, lo_open=True)
        check_seed(args.seed)
        check_number(args.styles_per_song, "--styles-per-song", 1, len(STYLES), integer=True)

        styles = [s.strip() for s in args.styles.split(",")] if args.styles else None
        path = build_generated(args.out, hours=args.hours, seed=args.seed, progress=progress, corpus=args.corpus,
                               styles=styles, keep_audio=args.keep_audio, styles_per_song=args.styles_per_song)
    elif args.dataset_cmd == "aist":
        from ..dataset.build import build_aist

        path = build_aist(args.aist_dir, args.out, progress=progress)
    else:
        raise BadInput("choose 'magicdance dataset build' or 'magicdance dataset aist'")
    import json

    idx = json.loads(path.read_text())
    print(f"{path}  ({idx['windows']} windows, {len(idx['songs'])} songs, {idx['hours']:.2f} h)")
    return 0
