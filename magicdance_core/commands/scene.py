"""``magicdance scene SONG -o scene.blend``: the add-on's scene, built headless.

The Blender part is the ``scene`` action of the add-on's headless entry point
(blender_addon/headless.py), run as a child process: magicdance_core never imports bpy.
"""

NAME = "scene"
HELP = "build a Blender scene: music, beat markers, the dancer and a first take"


def add_arguments(parser) -> None:
    from ..choreo.styles import STYLES

    parser.add_argument("song", help="music file (wav, mp3, ogg, flac, ...)")
    parser.add_argument("-o", "--out", required=True, help="output .blend")
    parser.add_argument("--style", default=None,
                        help=f"dance style, one of: {', '.join(STYLES)} (default: the generator's choice)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the first take (same seed, same dance; default 0)")
    parser.add_argument("--steps", type=int, default=0, help="sampling steps (0 = default)")
    parser.add_argument("--photo", default=None, help="photo of the person: the camera is aligned to it")
    parser.add_argument("--foot-lock", action="store_true", help="clean up foot sliding")
    parser.add_argument("--no-markers", action="store_true", help="no beat/bar markers")


def check_args(args) -> None:
    """Every option and path before Blender starts (the entry point checks them again)."""
    from ..checks import check_choice, check_int, check_output, check_photo, check_seed, check_song
    from ..choreo.styles import STYLES

    check_seed(args.seed)
    if args.style is not None:
        check_choice(args.style, "--style", list(STYLES), "style")
    check_int(args.steps, "--steps", 0, 1000)
    song = check_song(args.song, "SONG")
    if args.photo is not None:
        check_photo(args.photo, "--photo")   # decodes (cheap); the person is found in Blender's child
    check_output(args.out, "-o", suffixes=(".blend",), inputs={"SONG": song, "--photo": args.photo})


def run(args, progress) -> int:
    from ..blender_process import run_action

    check_args(args)
    argv = [args.song, "-o", args.out, "--seed", args.seed, "--steps", args.steps]
    for flag, v in (("--style", args.style), ("--photo", args.photo)):
        if v is not None:
            argv += [flag, v]
    argv += ["--foot-lock"] * bool(args.foot_lock) + ["--no-markers"] * bool(args.no_markers)
    r = run_action("scene", argv, progress)
    print(r["paths"]["scene"])
    return 0
