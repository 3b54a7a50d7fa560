"""``magicdance photo PHOTO -o DIR``: person mask, landmarks, face and background plate."""

NAME = "photo"
HELP = "analyse a photo: person mask, 33 landmarks, face, background plate (into a folder)"


def add_arguments(p) -> None:
    p.add_argument("photo", help="photo of one person (JPEG, PNG, WebP)")
    p.add_argument("-o", "--out", required=True, help="output folder (mask.png, landmarks.json, face.json, background.png)")


def run(args, progress) -> int:
    import shutil
    import sys
    from pathlib import Path

    from ..photo.analyze import analyze_photo

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        from ..errors import BadInput

        raise BadInput(f"output is a file, not a folder: {out}")
    tmp = out.with_name(f".{out.name}.part")
    shutil.rmtree(tmp, ignore_errors=True)
    try:  # write everything beside, then swap in: no half-written analysis folder
        res = analyze_photo(args.photo, out_dir=tmp, progress=progress)
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
