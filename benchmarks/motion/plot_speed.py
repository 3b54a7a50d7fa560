"""Joint speed of the same dances under two sampling variants, the song's beats marked.

``plot_guide.py`` (beat guidance vs the network alone) and ``plot_pulse.py`` (the retiming's beat
pulse) call :func:`plot`; each names its variants as (label, colour, call settings).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

import run as bench  # noqa: E402  (this folder's benchmark: song list, crop)


def plot(shown, variants, songs: str, cache: str, out: str) -> str:
    """``shown``: (song stem, first frame) pairs, 10 s each; ``variants``: (label, colour, settings)
    with settings the DancePipeline call's keywords. Writes ``out`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from magicdance_core import metrics
    from magicdance_core.audio.analysis import MusicAnalysis, analyze_music
    from magicdance_core.motion.pipeline import DancePipeline

    pipe = DancePipeline.from_pretrained()
    fig, axs = plt.subplots(len(shown), 1, figsize=(14, 9))
    for ax, (name, s0) in zip(axs, shown):
        path = next(Path(songs) / s for s in bench.DEFAULT_SONGS if Path(s).stem == Path(name).stem)
        cached = Path(cache) / (path.stem.replace(" ", "_") + ".music.json")
        a = bench.crop(MusicAnalysis.from_json(cached) if cached.is_file() else analyze_music(path), bench.CLIP_S)
        for label, colour, settings in variants:
            m = pipe(a, seed=0, **settings)
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
    plt.savefig(out, dpi=70)
    return out
