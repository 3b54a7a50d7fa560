"""``magicdance photo PHOTO -o DIR``: person mask, landmarks, face and background plate."""

NAME = "photo"
HELP = "analyse a photo: person mask, 33 landmarks, face, background plate (into a folder)"


# what analyze_photo writes into the folder (none of them may be the photo itself)
WRITES = ("image.png", "mask.png", "background.png", "landmarks.json", "face.json", "photo.json")


def add_arguments(p) -> None:
    p.add_argument("photo", help="photo of one person (JPEG, PNG, WebP)")
    p.add_argument("-o", "--out", required=True, help="output folder (mask.png, landmarks.json, face.json, background.png)")


def run(args, progress) -> int:
    import shutil
    import sys
    from pathlib import Path

    from ..checks import check_input_file, check_output
    from ..fileio import clean_stale_temps, temp_dir_name
    from ..photo.analyze import analyze_photo

    photo = check_input_file(args.photo, "PHOTO", "photo")
    out = check_output(args.out, "-o", folder=True, inputs={"PHOTO": photo}, writes=WRITES)
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(out.parent, bases=(out.name,))  # what a killed run left
    tmp = out.with_name(temp_dir_name(out.name))
    shutil.rmtree(tmp, ignore_errors=True)
    try:  # write everything beside, then swap in: no half-written analysis folder
        res = analyze_photo(photo, out_dir=tmp, progress=progress)
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
