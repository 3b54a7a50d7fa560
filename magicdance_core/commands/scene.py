"""``magicdance scene SONG -o scene.blend``: the add-on's scene, built headless (Blender as a module)."""

NAME = "scene"
HELP = "build a Blender scene: music, beat markers, the dancer and a first take"


def add_arguments(parser) -> None:
    parser.add_argument("song", help="music file (wav, mp3, ogg, flac, ...)")
    parser.add_argument("-o", "--out", required=True, help="output .blend")
    parser.add_argument("--style", default=None, help="dance style (default: the generator's choice)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the first take (same seed, same dance; default 0)")
    parser.add_argument("--steps", type=int, default=0, help="sampling steps (0 = default)")
    parser.add_argument("--photo", default=None, help="photo of the person: the camera is aligned to it")
    parser.add_argument("--foot-lock", action="store_true", help="clean up foot sliding")
    parser.add_argument("--no-markers", action="store_true", help="no beat/bar markers")


def run(args, progress) -> int:
    import os
    import sys

    from ..checks import check_seed

    check_seed(args.seed)

    # The add-on's Blender side lives in blender_addon/ at the repository root.
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if root not in sys.path:
        sys.path.insert(0, root)
    from blender_addon.headless import build_scene

    out = build_scene(args.song, args.out, style=args.style, seed=args.seed, steps=args.steps,
                      photo=args.photo, foot_lock=args.foot_lock, markers=not args.no_markers,
                      progress=progress)
    print(out)
    return 0
