"""``magicdance preview dance.npz -o preview.mp4 [--music SONG] [--size 512]``: watch a dance."""

from __future__ import annotations

NAME = "preview"
HELP = "draw a dance on a simple body as an MP4 (beats flashed, music muxed)"
DESCRIPTION = (
    "Render a motion file on a simple shaded body seen from the front three-quarter view, with a "
    "fixed camera framing the whole dance. With --music the song is muxed in, the video lasts as "
    "long as the song, and the border flashes on every beat."
)


def add_arguments(p) -> None:
    p.add_argument("motion", metavar="MOTION", help="motion .npz (from 'magicdance choreo' or 'magicdance generate')")
    p.add_argument("-o", "--output", required=True, metavar="OUT.mp4", help="video to write")
    p.add_argument("--music", metavar="SONG", help="song to mux and whose beats to flash")
    p.add_argument("--size", type=int, default=512, help="width and height in pixels (default 512)")


def run(args, progress) -> int:
    from ..body.motion_file import load_motion
    from ..errors import BadInput
    from ..fileio import require_file
    from ..video.preview import make_preview

    if not str(args.output).lower().endswith(".mp4"):
        raise BadInput(f"the output must be an .mp4 file, got {args.output}")
    if not 32 <= args.size <= 4096:
        raise BadInput(f"--size must be 32..4096 pixels, got {args.size}")
    motion = load_motion(args.motion)
    if args.music:
        require_file(args.music, "music file")
    out = make_preview(motion, args.output, music=args.music, size=args.size, progress=progress)
    print(out)
    return 0
