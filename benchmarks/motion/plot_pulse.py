"""Joint speed of the same retimed dances (``--snap-to-beat``) with and without the beat pulse,
beats marked: pulse_speed.png.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/motion/plot_pulse.py --songs /tmp/songs

Uses the analyses cached by run.py (--cache) or analyses the songs; 10 s of three songs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from plot_speed import plot

# (song, first frame shown): the 10 s windows start where the song's beats have begun
SHOWN = (("Beach", 450), ("Coherence", 0), ("Nebula", 580))
VARIANTS = (("snapped, beat pulse 0", "tab:blue", {"beat_sync": 1.0, "beat_pulse": 0.0}),
            ("snapped, beat pulse 0.5 (the option's default)", "tab:red", {"beat_sync": 1.0}))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--songs", default="/tmp/songs")
    ap.add_argument("--cache", default="/tmp/motion_bench_cache")
    ap.add_argument("--out", default=str(Path(__file__).parent / "pulse_speed.png"))
    args = ap.parse_args()
    print(plot(SHOWN, VARIANTS, args.songs, args.cache, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
