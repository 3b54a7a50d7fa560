"""``magicdance motion SONG -o dance.npz``: a dance for a song from the motion diffusion model."""

from __future__ import annotations

NAME = "motion"
HELP = "generate a dance (SMPL motion .npz) for a song with the motion diffusion model"
DESCRIPTION = (
    "Generate a 30 fps SMPL dance as long as SONG with the shipped default checkpoint (or --checkpoint). "
    "Same --seed and --cleanup, same dance (also from 'magicdance dance' and the add-on). "
    "--constraints FILE (.json or .npz) keeps chosen poses, joints or the root path exactly as given "
    "and fills the rest. Sampling defaults are the checkpoint's (its .sampling.json)."
)


def add_arguments(p) -> None:
    from ..motion.cleanup import PRESETS
    from ..motion.pipeline import GENERATORS

    p.add_argument("song", help="audio file (or a music.json written by 'magicdance analyze')")
    p.add_argument("-o", "--out", required=True, help="output motion .npz")
    p.add_argument("--style", default=None, help="dance style, one of: hiphop, house, pop, disco, waltz, ballet, "
                                                 "latin (default: none)")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same dance)")
    p.add_argument("--generator", default="model", help=f"one of: {', '.join(GENERATORS)} (the procedural "
                                                        "choreographer; default: model)")
    p.add_argument("--cleanup", default="default", metavar="PRESET",
                   help=f"clean-up preset, one of: {', '.join(PRESETS)} (raw: none; snap: accents snapped onto "
                        "the beats; nosync: the model's own timing; stage: also facing and travel limits, as "
                        "the dance job)")
    p.add_argument("--steps", type=float, default=None, help="DDIM steps, 1-1000 (default: the checkpoint's)")
    p.add_argument("--guidance", type=float, default=None, help="classifier-free guidance weight, 0-20 "
                                                                "(default: the checkpoint's)")
    p.add_argument("--eta", type=float, default=None, help="DDIM eta, 0-1 (0 deterministic updates, 1 EDGE's)")
    p.add_argument("--constraints", default=None, help="constraints file (.json or .npz)")
    p.add_argument("--checkpoint", default=None, help="motion checkpoint (.safetensors); default: the shipped one")
    p.add_argument("--no-foot-fix", action="store_true", help="keep foot sliding (no contact IK clean-up)")
    p.add_argument("--choreo-guide", type=float, default=None, metavar="S",
                   help="with --style: start from the choreographer's dance in that style noised to S "
                        "(0-1; default: the checkpoint's, 0 = the model alone)")
    p.add_argument("--beat-guidance", type=float, default=None, metavar="G",
                   help="while sampling, steer the dance so the body slows on the beats (0-1; default: the "
                        "checkpoint's, 0 = the network alone); not a retiming, kept with --no-beat-sync")
    p.add_argument("--snap-to-beat", action="store_true",
                   help="retime the finished dance: its accents moved onto the beats, with the beat pulse "
                        "(off by default: the model keeps time while it samples, see --beat-guidance)")
    p.add_argument("--no-beat-sync", action="store_true",
                   help="keep the model's timing: no retiming at all, whatever the checkpoint's settings say")
    p.add_argument("--beat-pulse", type=float, default=None, metavar="A",
                   help="with --snap-to-beat: how much the dance slows into each beat and speeds up between "
                        "(0-0.9; default: the checkpoint's, 0 = accents on the beats only)")


def sampling_args(args) -> dict:
    """The pipeline's call settings named on the command line (None: the checkpoint's)."""
    return {"steps": args.steps, "guidance": args.guidance, "eta": args.eta, "choreo_guide": args.choreo_guide,
            "beat_guidance": args.beat_guidance,
            "beat_pulse": args.beat_pulse, "beat_sync": beat_sync_arg(args),
            "foot_fix": False if args.no_foot_fix else None}


def beat_sync_arg(args):
    """--snap-to-beat / --no-beat-sync as the beat_sync setting (None: the checkpoint's)."""
    from ..errors import BadInput

    if args.snap_to_beat and args.no_beat_sync:
        raise BadInput("--snap-to-beat and --no-beat-sync contradict each other; give one")
    if args.snap_to_beat:
        from ..motion.cleanup import PRESETS

        if "beat_sync" not in PRESETS[args.cleanup][0]:   # the preset was checked before
            raise BadInput(f"--snap-to-beat retimes in the clean-up; --cleanup {args.cleanup} has no beat sync step")
        return 1.0
    return 0.0 if args.no_beat_sync else None


def run(args, progress) -> int:
    from ..body.motion_file import save_motion
    from ..checks import check_choice, check_input_file, check_output, check_seed, check_song
    from ..choreo.styles import STYLES
    from ..motion import sampling
    from ..motion.cleanup import check_preset
    from ..motion.pipeline import GENERATORS, DancePipeline

    # every mistake one line naming its flag, before the model loads or the song is analysed
    song = check_song(args.song, "SONG", analysis_ok=True)
    out = check_output(args.out, "-o", inputs={"SONG": song, "--constraints": args.constraints,
                                               "--checkpoint": args.checkpoint}, suffixes=(".npz",))
    check_seed(args.seed)
    check_choice(args.generator, "--generator", list(GENERATORS), "generator")
    check_preset(args.cleanup)
    settings = sampling.check_overrides(sampling_args(args))
    if args.style is not None:
        sampling.check_style(args.style, STYLES)
    if args.constraints:
        check_input_file(args.constraints, "--constraints", "constraints file")
    if args.checkpoint:
        check_input_file(args.checkpoint, "--checkpoint", "checkpoint")
    from ..errors import BadInput

    cons = None
    if args.constraints:
        from ..motion.constraints import Constraints

        try:
            cons = Constraints.load(args.constraints)
        except BadInput as e:
            raise BadInput(f"--constraints: {e}") from None
    from ..audio.background import BackgroundAnalysis

    with BackgroundAnalysis(song) as pending:   # the song is analysed while the model loads
        try:
            pipe = DancePipeline.from_pretrained(args.checkpoint, args.generator)
        except BadInput as e:
            if not args.checkpoint:
                raise
            raise BadInput(f"--checkpoint: {e}") from None
        music = pending.result(progress)
    motion = pipe(music, style=args.style, seed=args.seed, constraints=cons, cleanup=args.cleanup,
                  progress=progress, **settings)
    save_motion(motion, out)
    print(f"wrote {out} ({motion.num_frames} frames, {motion.duration_s:.1f} s, {motion.meta.get('model')}, "
          f"clean-up {motion.meta.get('cleanup')})")
    return 0
