"""``magicdance passes``: render the guidance passes of a dance (motion .npz or scene .blend)."""

from __future__ import annotations

NAME = "passes"
HELP = "render guidance passes (DensePose-style, IUV, semantic, depth, normal, mask, skeleton, keypoints)"
DESCRIPTION = (
    "Render the guidance passes of a dance from the dancer and one fixed camera: "
    "PNG sequences DIR/<pass>/%06d.png, DIR/<pass>.mp4, OpenPose JSON in DIR/keypoints/. "
    "The camera frames the whole dance, or is aligned to a photo's person (--photo or --landmarks)."
)


def add_arguments(p) -> None:
    p.add_argument("input", help="DANCE.npz (motion file) or SCENE.blend (the dancer's active take)")
    p.add_argument("-o", "--out", required=True, help="output folder (the job's passes/)")
    p.add_argument("--passes", default="all",
                   help="comma list of densepose,iuv,semantic,depth,normal,mask,skeleton,keypoints (default all)")
    p.add_argument("--size", type=int, default=512, help="square image size in pixels (default 512)")
    p.add_argument("--width", type=int, default=None, help="image width (overrides --size)")
    p.add_argument("--height", type=int, default=None, help="image height (overrides --size)")
    p.add_argument("--fps", type=float, default=None,
                   help="output frame rate (default the dance's, 30; 25 = MagicAnimate's rate)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--photo", default=None, help="align the camera to the person in this photo")
    g.add_argument("--landmarks", default=None, help="align the camera to these landmarks (JSON, docs/passes.md)")
    p.add_argument("--skeleton-bgr", action="store_true",
                   help="skeleton limb colours in the original OpenPose (red/blue-swapped) order")
    p.add_argument("--stick-width", type=float, default=None,
                   help="skeleton limb half-width in pixels (default 4 px per 512 px)")
    p.add_argument("--no-video", action="store_true", help="PNG sequences only, no MP4s")


def check_args(args):
    """Every option and path, before the photo is analysed or a frame rendered; returns INPUT."""
    from ..checks import check_input_file, check_int, check_number, check_output
    from ..errors import BadInput
    from ..passes.sequence import check_pass_folders, parse_passes

    src = check_input_file(args.input, "INPUT", "dance")
    if src.suffix.lower() not in (".npz", ".blend"):
        raise BadInput(f"{src}: expected a motion .npz or a scene .blend")
    for flag, v in (("--photo", args.photo), ("--landmarks", args.landmarks)):
        if v:
            check_input_file(v, flag)
    if args.photo:  # opens and decodes (cheap); the person is found after every other check
        from ..checks import check_photo

        check_photo(args.photo, "--photo")
    if args.landmarks:
        from ..camera import load_landmarks_json

        try:
            load_landmarks_json(args.landmarks)
        except BadInput as e:
            raise BadInput(f"--landmarks: {e}") from None
    if args.fps is not None:
        from ..body.motion_file import MAX_FPS, MIN_FPS

        check_number(args.fps, "--fps", MIN_FPS, min(MAX_FPS, 240.0))
    check_int(args.size, "--size", 16, 8192)
    for flag, v in (("--width", args.width), ("--height", args.height)):
        if v is not None:
            check_int(v, flag, 16, 8192)
    if args.stick_width is not None:
        check_number(args.stick_width, "--stick-width", 0, 200, lo_open=True, hi_open=True)
    try:
        parse_passes(args.passes)
    except BadInput as e:
        raise BadInput(f"--passes: {e}") from None
    out = check_output(args.out, "-o", folder=True,
                       inputs={"INPUT": src, "--photo": args.photo, "--landmarks": args.landmarks},
                       writes=("passes.json", "camera.json"))
    check_pass_folders(out, args.passes)
    return src


def landmarks_of(args, progress):
    """The camera's landmarks: from --landmarks, the --photo's person, or None (frame the dance)."""
    if args.landmarks:
        from ..camera import load_landmarks_json

        return load_landmarks_json(args.landmarks)
    if args.photo:
        from ..photo.analyze import analyze_photo

        from ..checks import photo_error
        from ..errors import BadInput

        try:
            return analyze_photo(args.photo, progress=progress).camera_landmarks()
        except BadInput as e:  # (no person in it: named by its flag)
            raise photo_error(e, "--photo") from None
    return None


def _blend_argv(args, src) -> list:
    """This command's options again, for the Blender entry point's ``passes`` action."""
    argv = [str(src), "-o", str(args.out), "--passes", str(args.passes), "--size", str(args.size)]
    for flag, v in (("--width", args.width), ("--height", args.height), ("--fps", args.fps),
                    ("--photo", args.photo), ("--landmarks", args.landmarks), ("--stick-width", args.stick_width)):
        if v is not None:
            argv += [flag, repr(v) if isinstance(v, float) else str(v)]
    argv += ["--skeleton-bgr"] * bool(args.skeleton_bgr) + ["--no-video"] * bool(args.no_video)
    return argv


def run(args, progress) -> int:
    from pathlib import Path

    src = check_args(args)
    if src.suffix.lower() == ".blend":
        # Blender's part runs in the add-on's headless entry point (magicdance_core never imports bpy).
        from ..blender_process import run_action

        r = run_action("passes", _blend_argv(args, src), progress)
        frames, n, fps, seconds = r["frames"], len(r["passes"]), r["fps"], r["seconds"]
    else:
        from ..body.motion_file import load_motion
        from ..passes.api import render_motion_passes
        from ..passes.render import SkeletonOptions
        from ..passes.sequence import parse_passes

        res = render_motion_passes(
            load_motion(src), args.out, passes=parse_passes(args.passes), size=args.size, width=args.width,
            height=args.height, fps=args.fps, landmarks=landmarks_of(args, progress),
            skeleton=SkeletonOptions(swap_red_blue=args.skeleton_bgr, stick_width=args.stick_width),
            video=not args.no_video, progress=progress)
        frames, n, fps, seconds = res.frames, len(res.passes), res.fps, res.seconds
    print(f"{frames} frames x {n} passes at {fps:g} fps in {seconds:.1f} s -> {Path(args.out)}")
    return 0
