"""``magicdance photo PHOTO -o DIR [--landmarks FILE]``: person mask, landmarks, face and background plate.

When no person is found but a figure is (a drawing), DIR/landmarks_edit.json (+ .png preview)
holds a default skeleton for the user to move onto the figure and pass back with --landmarks.
"""

NAME = "photo"
HELP = "analyse a photo: person mask, 33 landmarks, face, background plate (into a folder)"


# what analyze_photo writes into the folder (none of them may be the photo itself)
TEMPLATE = "landmarks_edit.json"   # the skeleton to edit, when no person is found
WRITES = ("image.png", "mask.png", "alpha.png", "foreground.png", "occluder.png", "background.png", "landmarks.json", "face.json", "photo.json")


def add_arguments(p) -> None:
    p.add_argument("photo", help="photo of one person (JPEG, PNG, WebP)")
    p.add_argument("-o", "--out", required=True, help="output folder (mask.png, landmarks.json, face.json, background.png)")
    p.add_argument("--landmarks", default=None, metavar="FILE",
                   help="the figure's joints (a landmarks JSON, e.g. the landmarks_edit.json this command writes "
                        "when it finds no person): used instead of detection")
    p.add_argument("--inpaint", default=None, metavar="METHOD",
                   help="how the background plate's hole is filled: ns (default; smooth), ns_texture (NS plus "
                        "the grain of the background beside it; thin objects can come along as ghosts), "
                        "telea, shiftmap, fsr_fast, fsr_best (minutes); benchmarks/dance/inpaint/RESULTS.md")


def run(args, progress) -> int:
    import shutil
    import sys
    from pathlib import Path

    from ..checks import check_input_file, check_output
    from ..fileio import clean_stale_temps, temp_dir_name
    from ..photo.analyze import analyze_photo

    from ..checks import check_choice
    from ..photo.inpaint import DEFAULT_METHOD, METHODS

    method = check_choice(args.inpaint, "--inpaint", METHODS, "inpainting method") if args.inpaint else DEFAULT_METHOD
    photo = check_input_file(args.photo, "PHOTO", "photo")
    landmarks = check_input_file(args.landmarks, "--landmarks", "landmarks JSON") if args.landmarks else None
    out = check_output(args.out, "-o", folder=True, inputs={"PHOTO": photo, "--landmarks": landmarks},
                       writes=WRITES + ((TEMPLATE, TEMPLATE[:-5] + ".png") if landmarks is None else ()))
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(out.parent, bases=(out.name,))  # what a killed run left
    tmp = out.with_name(temp_dir_name(out.name))
    shutil.rmtree(tmp, ignore_errors=True)
    try:  # write everything beside, then swap in: no half-written analysis folder
        res = analyze_photo(photo, out_dir=tmp, progress=progress, landmarks=landmarks,
                            template_out=out / TEMPLATE, inpaint_method=method)
        if out.exists():
            for f in tmp.iterdir():
                f.replace(out / f.name)
            tmp.rmdir()
        else:
            tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for w in res.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(out)
    return 0
