"""``magicdance motion SONG -o dance.npz``: a dance for a song from the motion diffusion model."""

from __future__ import annotations

NAME = "motion"
HELP = "generate a dance (SMPL motion .npz) for a song with the motion diffusion model"
DESCRIPTION = (
    "Generate a 30 fps SMPL dance as long as SONG with the shipped default checkpoint (or --checkpoint). "
    "Same --seed, same dance. --constraints FILE (.json or .npz) keeps chosen poses, joints or the root "
    "path exactly as given and fills the rest."
)


def add_arguments(p) -> None:
    p.add_argument("song", help="audio file (or a music.json written by 'magicdance analyze')")
    p.add_argument("-o", "--out", required=True, help="output motion .npz")
    from ..choreo.styles import STYLES

    p.add_argument("--style", default=None, help=f"dance style, one of: {', '.join(STYLES)} (default: none)")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same dance)")
    p.add_argument("--steps", type=int, default=None, help="DDIM steps (default 10)")
    p.add_argument("--guidance", type=float, default=None, help="classifier-free guidance weight (default: checkpoint's)")
    p.add_argument("--eta", type=float, default=1.0, help="DDIM eta (0 deterministic updates, 1 EDGE's)")
    p.add_argument("--constraints", default=None, help="constraints file (.json or .npz)")
    p.add_argument("--checkpoint", default=None, help="motion checkpoint (.safetensors); default: the shipped one")
    p.add_argument("--no-foot-fix", action="store_true", help="keep foot sliding (no contact IK post-process)")
    p.add_argument("--choreo-guide", type=float, default=None, metavar="S",
                   help="with --style: start from the choreographer's dance in that style noised to S "
                        "(0-1; default: the checkpoint's, 0 = the model alone)")
    p.add_argument("--no-beat-sync", action="store_true",
                   help="keep the model's timing (no retiming of the dance's accents onto the beats, no pulse)")
    p.add_argument("--beat-pulse", type=float, default=None, metavar="A",
                   help="how much the dance slows into each beat and speeds up between (0-0.9; "
                        "default: the checkpoint's, 0 = accents on the beats only)")


def run(args, progress) -> int:
    from pathlib import Path

    from ..body.motion_file import save_motion
    from ..errors import BadInput
    from ..motion.api import generate_dance
    from ..motion.constraints import Constraints

    from ..checks import check_input_file, check_output, check_seed

    song = check_input_file(args.song, "SONG", "song")
    out = check_output(args.out, "-o", inputs={"SONG": song, "--constraints": args.constraints,
                                               "--checkpoint": args.checkpoint}, suffixes=(".npz",))
    check_seed(args.seed)
    if args.style is not None:
        from ..checks import check_choice
        from ..choreo.styles import STYLES

        check_choice(args.style, "--style", list(STYLES), "style")
    if args.constraints:
        check_input_file(args.constraints, "--constraints", "constraints file")
    if args.checkpoint:
        check_input_file(args.checkpoint, "--checkpoint", "checkpoint")
    if args.beat_pulse is not None:   # before the analysis
        from ..motion.model import DenoiserConfig

        DenoiserConfig.check_sampling("beat_pulse", args.beat_pulse, "--beat-pulse")
    song = Path(args.song)
    if not song.is_file():
        raise BadInput(f"song not found: {song}")
    music = song
    if song.suffix.lower() == ".json":
        from ..audio.analysis import MusicAnalysis

        music = MusicAnalysis.from_json(song)
    cons = Constraints.load(args.constraints) if args.constraints else None
    motion = generate_dance(music, style=args.style, seed=args.seed, steps=args.steps, constraints=cons,
                            guidance=args.guidance, eta=args.eta, checkpoint=args.checkpoint,
                            foot_fix=not args.no_foot_fix, beat_sync=False if args.no_beat_sync else None,
                            choreo_guide=args.choreo_guide, beat_pulse=args.beat_pulse,
                            progress=progress)
    save_motion(motion, out)
    print(f"wrote {out} ({motion.num_frames} frames, {motion.duration_s:.1f} s, {motion.meta.get('model')})")
    return 0
