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
    p.add_argument("motion", metavar="MOTION", help="motion .npz (from 'magicdance motion', 'magicdance choreo' or a job's motion.npz)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.mp4", help="video to write")
    p.add_argument("--music", metavar="SONG", help="song to mux and whose beats to flash")
    p.add_argument("--size", type=int, default=512, help="width and height in pixels (default 512)")


def run(args, progress) -> int:
    from ..body.motion_file import load_motion
    from ..video.preview import make_preview

    from ..checks import check_input_file, check_int, check_output, check_song

    check_input_file(args.motion, "MOTION", "motion file")
    if args.music:  # the header only: a song that does not open is named by its flag, before drawing
        check_song(args.music, "--music")
    check_output(args.output, "-o", inputs={"MOTION": args.motion, "--music": args.music}, suffixes=(".mp4",))
    check_int(args.size, "--size", 32, 4096)
    motion = load_motion(args.motion)
    out = make_preview(motion, args.output, music=args.music, size=args.size, progress=progress)
    print(out)
    return 0
