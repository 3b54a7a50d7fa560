"""``magicdance batch manifest.csv [--address RAY_ADDRESS] [--out DIR]``: many dance jobs on Ray."""

NAME = "batch"
HELP = "run many (music, photo, style, seed) dance jobs from a CSV manifest on Ray"


def add_arguments(p) -> None:
    from ..choreo.styles import STYLES

    p.add_argument("manifest", help="CSV with a header: music,photo,style,seed,out (style, seed, out optional; "
                                    f"style one of: {', '.join(STYLES)}; animator,animator_weights,steps,guidance,"
                                    "face_weights choose the diffusion animator per row)")
    p.add_argument("--address", default=None,
                   help="Ray cluster address (e.g. ray://head:10001 or auto); default: a local Ray")
    p.add_argument("--out", default=None, help="folder for videos without an 'out' column and the report")
    p.add_argument("--num-cpus", type=int, default=2, help="CPUs of the local Ray, at least 1 (default 2)")
    p.add_argument("--size", type=int, default=512, help="video size in pixels of every job, even, 128..2048 (default 512)")
    p.add_argument("--scene", action="store_true", help="also build each job's Blender scene")
    p.add_argument("--passes", default="",
                   help="guidance passes per job (comma list or 'all'; default none; diffusion rows add densepose)")
    p.add_argument("--gpus-per-row", type=float, default=1.0,
                   help="GPUs Ray reserves for each diffusion-animator row (default 1; 0.5 packs two per GPU)")


def run(args, progress) -> int:
    from ..jobs.batch import run_batch

    res = run_batch(args.manifest, address=args.address, out_dir=args.out, num_cpus=args.num_cpus,
                    size=args.size, scene=args.scene, passes=args.passes, gpus_per_row=args.gpus_per_row)
    bad = sum(r["status"] == "error" for r in res)
    print(f"{len(res) - bad} of {len(res)} jobs done ({sum(r['status'] == 'skipped' for r in res)} already finished)")
    return 1 if bad else 0
