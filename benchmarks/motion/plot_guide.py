"""Joint speed of the same dances from the network alone and with beat guidance, beats marked:
guide_speed.png (what the guide does: the body slows on the beats, no retiming afterwards).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/motion/plot_guide.py --songs /tmp/songs

Three tune songs (hedgewars/singularity, as run.py), 10 s each, seed 0, the shipped clean-up.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from plot_speed import plot

# (song, first frame shown): the 10 s windows start where the song's beats have begun
SHOWN = (("Beach", 450), ("City", 150), ("Nebula", 580))
VARIANTS = (("network alone", "tab:blue", {"beat_guidance": 0.0}),
            ("beat guidance (shipped)", "tab:red", {}))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--songs", default="/tmp/songs")
    ap.add_argument("--cache", default="/tmp/motion_bench_cache")
    ap.add_argument("--out", default=str(Path(__file__).parent / "guide_speed.png"))
    args = ap.parse_args()
    print(plot(SHOWN, VARIANTS, args.songs, args.cache, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
