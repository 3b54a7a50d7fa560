"""``magicdance dance --music SONG --photo PHOTO -o OUT.mp4``: the main job."""

NAME = "dance"
HELP = "a song and one photo in, a dance video of that person out"


def add_arguments(p) -> None:
    from ..choreo.styles import STYLES

    p.add_argument("--music", required=True, help="song (wav, mp3, ogg, flac, ...)")
    p.add_argument("--photo", required=True, help="photo of one person, facing the camera (JPEG, PNG, WebP)")
    p.add_argument("-o", "--out", required=True, help="output video (.mp4)")
    p.add_argument("--style", default=None, help=f"dance style, one of: {', '.join(STYLES)} (default: the generator's choice)")
    p.add_argument("--seed", type=int, default=0, help="same seed, same dance (a whole number, 0 to 2**63-1; default 0)")
    p.add_argument("--size", type=int, default=512,
                   help="the video's long side in pixels, an even number in 128..2048 (default 512; the photo's aspect ratio is kept)")
    p.add_argument("--job", default=None, help="job folder (default OUT.job beside the video); a re-run skips finished stages")
    p.add_argument("--animator", default="surface",
                   help="surface (built in, default: the photo on the fitted 3D body), puppet (built in, the photo's "
                        "cut-out warped in 2D) or diffusion (needs --animator-weights)")
    p.add_argument("--crop", action="store_true",
                   help="frame the video around the person (default: the whole photo, its aspect ratio kept)")
    p.add_argument("--animator-weights", default=None, metavar="DIR",
                   help="MagicAnimate's pretrained_models folder (diffusion animator; docs/diffusion.md)")
    p.add_argument("--steps", type=int, default=None, metavar="N",
                   help="diffusion animator: denoising steps (default 25, MagicAnimate's)")
    p.add_argument("--guidance", type=float, default=None, metavar="G",
                   help="diffusion animator: classifier-free guidance scale (default 7.5, MagicAnimate's)")
    p.add_argument("--face-weights", default=None, metavar="FILE",
                   help="diffusion animator: MagicDance's face attention (.safetensors from 'magicdance train-animator')")
    p.add_argument("--yaw-limit", type=float, default=30.0,
                   help="keep the dancer within +-DEG of facing the camera (the photo has no back; default 30, 180 = off)")
    p.add_argument("--generator", choices=("model", "choreo"), default="model",
                   help="who dances: the motion diffusion model (default) or the procedural choreographer")
    p.add_argument("--snap-to-beat", action="store_true",
                   help="retime the dance so its accents land on the beats, with a pulse (default: the "
                        "model's own timing, which follows the beats through its beat guidance)")
    p.add_argument("--travel-limit", type=float, default=0.15, metavar="METRES",
                   help="keep the dancer's pelvis within about this distance of where the photo's person stands "
                        "(default 0.15; 0 = off)")
    p.add_argument("--passes", default="densepose",
                   help="guidance passes rendered into the job folder (comma list, 'all', or 'none'; default densepose)")
    p.add_argument("--landmarks", default=None, metavar="FILE",
                   help="the figure's joints (a landmarks JSON; the job writes landmarks_edit.json into its folder "
                        "when the photo shows no person it can find): used instead of detection")
    p.add_argument("--no-scene", action="store_true", help="do not build the Blender scene (scene.blend)")


def run(args, progress) -> int:
    import sys

    from ..jobs.pipeline import PASSES_ALL, DanceOptions, run_dance

    passes = {"none": "", "all": PASSES_ALL}.get(args.passes, args.passes)
    opt = DanceOptions(style=args.style, seed=args.seed, size=args.size, yaw_limit_deg=args.yaw_limit,
                       travel_limit_m=args.travel_limit, generator=args.generator,
                       animator=args.animator, animator_weights=args.animator_weights,
                       animator_steps=args.steps, animator_guidance=args.guidance, face_weights=args.face_weights,
                       scene=not args.no_scene, passes=passes, landmarks=args.landmarks,
                       crop=args.crop, snap_to_beat=args.snap_to_beat)
    res = run_dance(args.music, args.photo, args.out, opt, job_dir=args.job, progress=progress,
                    log=lambda s: print(s, file=sys.stderr))
    print(res.video)
    return 0
