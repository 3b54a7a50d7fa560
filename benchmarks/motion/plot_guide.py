"""Joint speed of the same dances from the network alone and with beat guidance, beats marked:
guide_speed.png (what the guide does: the body slows on the beats, no retiming afterwards).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/motion/plot_guide.py --songs /tmp/songs

Three tune songs (hedgewars/singularity, as run.py), 10 s each, seed 0, the shipped clean-up.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

import run as bench  # noqa: E402  (this folder's benchmark: song list, crop)

# (song, first frame shown): the 10 s windows start where the song's beats have begun
SHOWN = (("Beach", 450), ("City", 150), ("Nebula", 580))


def main() -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from magicdance_core import metrics
    from magicdance_core.audio.analysis import MusicAnalysis, analyze_music
    from magicdance_core.motion.pipeline import DancePipeline

    ap = argparse.ArgumentParser()
    ap.add_argument("--songs", default="/tmp/songs")
    ap.add_argument("--cache", default="/tmp/motion_bench_cache")
    ap.add_argument("--out", default=str(Path(__file__).parent / "guide_speed.png"))
    args = ap.parse_args()
    pipe = DancePipeline.from_pretrained()
    fig, axs = plt.subplots(len(SHOWN), 1, figsize=(14, 9))
    for ax, (name, s0) in zip(axs, SHOWN):
        path = next(Path(args.songs) / s for s in bench.DEFAULT_SONGS if Path(s).stem == Path(name).stem)
        cached = Path(args.cache) / (path.stem.replace(" ", "_") + ".music.json")
        a = bench.crop(MusicAnalysis.from_json(cached) if cached.is_file() else analyze_music(path), bench.CLIP_S)
        for guidance, colour, label in ((0.0, "tab:blue", "network alone"), (None, "tab:red", "beat guidance (shipped)")):
            m = pipe(a, seed=0, beat_guidance=guidance)
            sp = metrics.joint_speed(m.joints)[s0:s0 + 300] * 30.0
            ba = metrics.beat_align_bailando(m.joints, a.beats_s)
            ax.plot((s0 + np.arange(len(sp))) / 30.0, sp, colour, label=f"{label}: BA {ba:.2f}")
        for b in a.beats_s[(a.beats_s >= s0 / 30.0) & (a.beats_s < s0 / 30.0 + 10)]:
            ax.axvline(b, color="gray", lw=0.5)
        ax.set_title(f"{path.stem}: {a.tempo_bpm:.0f} BPM (grey: beats)")
        ax.set_ylabel("mean joint speed (m/s)")
        ax.legend(loc="upper right")
    axs[-1].set_xlabel("seconds")
    plt.tight_layout()
    plt.savefig(args.out, dpi=70)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
