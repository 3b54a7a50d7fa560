"""``magicdance eval-video GEN --reference REF``: a generated dance video against held-out frames."""

from __future__ import annotations

NAME = "eval-video"
HELP = "score a generated video against ground-truth frames: PSNR, SSIM, L1, face SSIM, pose agreement"
DESCRIPTION = (
    "Compare GEN (a video or a folder of frames) with --reference (the held-out clip: a video or a "
    "folder of frames), frame by frame: PSNR, SSIM and L1 (mean and worst frame). With --densepose "
    "(the clip's DensePose frames): SSIM of the head crops where the pass puts the head, and pose "
    "agreement (mediapipe joints re-detected on the right DensePose part). With --photo: face "
    "identity, the generated head against the photo's (its head from --photo-densepose or the photo's "
    "face). docs/diffusion_training.md, 'Evaluation'."
)


def add_arguments(p) -> None:
    p.add_argument("generated", metavar="GEN", help="generated video (.mp4) or folder of frames")
    p.add_argument("--reference", required=True, metavar="REF", help="ground-truth video or folder of frames")
    p.add_argument("--densepose", default=None, metavar="D", help="the clip's DensePose video or folder of frames")
    p.add_argument("--photo", default=None, metavar="P", help="the reference photo the video animates (face identity)")
    p.add_argument("--photo-densepose", default=None, metavar="PD",
                   help="the photo's DensePose image (its head box); default: the photo's detected face")
    p.add_argument("--no-pose", action="store_true", help="skip the pose agreement (mediapipe; slowest part)")
    p.add_argument("--json", default=None, metavar="OUT", help="also write the figures to this JSON file")


def run(args, progress) -> int:
    import json

    from ..checks import check_output
    from ..fileio import atomic_write_text
    from ..metrics.reconstruction import read_frames_any, reconstruction_metrics

    if args.json:
        check_output(args.json, "--json", inputs={"GEN": args.generated, "--reference": args.reference},
                     suffixes=(".json",))
    gen = read_frames_any(args.generated, "GEN")
    ref = read_frames_any(args.reference, "--reference")
    dp = read_frames_any(args.densepose, "--densepose") if args.densepose else None
    photo = box = None
    if args.photo:
        photo = read_frames_any(args.photo, "--photo")[0]
        if args.photo_densepose:
            from ..animate.diffusion.face import densepose_head_box

            box = densepose_head_box(read_frames_any(args.photo_densepose, "--photo-densepose")[0])
        else:
            from ..animate.diffusion.face import FACE_TO_HEAD
            from ..photo.analyze import analyze_photo

            fb = analyze_photo(args.photo).face_box
            if fb is not None:
                cx, cy = (fb[0] + fb[2]) / 2, (fb[1] + fb[3]) / 2
                half = max(fb[2] - fb[0], fb[3] - fb[1]) * FACE_TO_HEAD / 2
                box = (cx - half, cy - half, cx + half, cy + half)
    res = reconstruction_metrics(gen, ref, densepose=dp, photo=photo, photo_head_box=box,
                                 pose=not args.no_pose, progress=progress)
    text = json.dumps(res, indent=1)
    if args.json:
        atomic_write_text(args.json, text + "\n")
    print(text)
    return 0
