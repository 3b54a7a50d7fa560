"""``magicdance convert IN OUT``: motion files between .npz, AIST++ .pkl, EDGE .pkl and .bvh."""

from __future__ import annotations

NAME = "convert"
HELP = "convert a motion between .npz (ours), AIST++ .pkl, EDGE .pkl (input only) and .bvh"
DESCRIPTION = (
    "Convert a dance motion by file extension. Inputs: .npz, .pkl (AIST++ motion, or EDGE output "
    "when it holds full_pose), .bvh. Outputs: .npz, .pkl (AIST++ layout), .bvh (Y up, centimetres). "
    "Pickles are read with a restricted unpickler: a pickle that carries code is refused."
)


def add_arguments(p) -> None:
    p.add_argument("input", metavar="IN", help="motion file to read (.npz, .pkl, .bvh)")
    p.add_argument("output", metavar="OUT", help="motion file to write (.npz, .pkl, .bvh)")
    p.add_argument("--fps", type=float, default=30.0,
                   help="frame rate of an AIST++ .pkl output (default 30; AIST++ itself is 60)")
    p.add_argument("--pkl", choices=("auto", "aist", "edge"), default="auto",
                   help="what a .pkl input is (default: EDGE output if it has full_pose, else AIST++)")
    p.add_argument("--bvh-units", choices=("cm", "m"), default="cm", help="units of a .bvh output (default cm)")
    p.add_argument("--bvh-order", choices=("ZXY", "XYZ"), default="ZXY", help="rotation channel order of a .bvh output")
    p.add_argument("--smpl", default=None, metavar="PATH",
                   help="your SMPL model file or folder (SMPL_NEUTRAL.pkl/.npz): use its proportions")
    p.add_argument("--gender", choices=("neutral", "male", "female"), default="neutral",
                   help="which SMPL_<GENDER> file to take from a --smpl folder (AIST++ was fitted with the male model)")
    p.add_argument("--betas", type=float, nargs="+", default=None, help="SMPL shape (up to 10 numbers), with --smpl")
    p.add_argument("--no-ground", action="store_true",
                   help="keep the imported pickle's height instead of putting the lowest foot on y = 0")


def run(args, progress) -> int:
    from ..body.formats import READ_EXTS, WRITE_EXTS, check_extension, read_motion_any, write_motion_any
    from ..errors import BadInput

    from ..checks import check_input_file, check_number, check_output

    # Check the output before any work, so a typo costs nothing.
    check_input_file(args.input, "IN", "motion file")
    check_output(args.output, "OUT", inputs={"IN": args.input, "--smpl": args.smpl})
    for flag, path, verb, exts in (("IN", args.input, "read", READ_EXTS), ("OUT", args.output, "write", WRITE_EXTS)):
        try:
            check_extension(path, exts, verb)
        except BadInput as e:
            raise BadInput(f"{flag}: {e}") from None
    check_number(args.fps, "--fps", 1, 1000)
    if args.betas is not None and args.smpl is None:
        raise BadInput("--betas needs --smpl (the betas shape a SMPL model)")
    smpl = None
    if args.smpl is not None:
        from ..body.smpl_model import load_smpl_model

        smpl = load_smpl_model(args.smpl, betas=args.betas, gender=args.gender)
    # Conversion takes well under a second: one progress report at the end, so that a bad
    # input or output gives exactly one clean error line.
    motion = read_motion_any(args.input, pkl_kind=args.pkl, smpl=smpl, ground=not args.no_ground)
    write_motion_any(motion, args.output, fps=args.fps, smpl=smpl, bvh_units=args.bvh_units, bvh_order=args.bvh_order)
    progress("convert", 1.0, f"{motion.num_frames} frames at {motion.fps:g} fps")
    print(f"wrote {args.output} ({motion.num_frames} frames, {motion.duration_s:.2f} s)")
    return 0
