"""Time and peak memory of ``analyze_music`` on long songs (concatenated benchmark songs).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/beats/long_song.py 10 20

For each length (minutes) a 44.1 kHz stereo FLAC is written by repeating the benchmark songs
(songs.py, rendered into --songs), then analysed in a fresh subprocess, which reports wall time
and its peak resident memory (ru_maxrss).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[2])
from magicdance_core.audio.analysis import analyze_music
t0 = time.time()
a = analyze_music(sys.argv[1])
dt = time.time() - t0
print(json.dumps({"seconds": dt, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "duration_s": a.duration_s, "n_beats": int(a.beats_s.size), "tempo": a.tempo_bpm}))
"""


def make_song(minutes: float, songs_dir: Path, out: Path) -> Path:
    import soundfile

    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(ROOT))
    import songs as songbook
    from magicdance_core.audio.decode import load_audio

    if out.exists():
        return out
    parts, total, n = [], 0, int(minutes * 60 * 44100)
    recs = songbook.build(songs_dir)
    while total < n:
        for r in recs:
            y, _ = load_audio(r["wav"], sr=44100)
            parts.append(y)
            total += y.size
            if total >= n:
                break
    y = np.concatenate(parts)[:n]
    soundfile.write(out, np.stack([y, y], axis=1), 44100, format="FLAC")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("minutes", nargs="+", type=float)
    ap.add_argument("--songs", default="/tmp/magicdance_beat_songs")
    ap.add_argument("--tmp", default="/tmp")
    a = ap.parse_args()
    for m in a.minutes:
        path = make_song(m, Path(a.songs), Path(a.tmp) / f"magicdance_long_{m:g}min.flac")
        res = subprocess.run([sys.executable, "-c", CHILD, str(path), str(ROOT)], capture_output=True, text=True, check=True)
        r = json.loads(res.stdout.strip().splitlines()[-1])
        print(f"| {m:g} min | {r['seconds']:.1f} s | {r['peak_rss_mb']:.0f} MB | {r['n_beats']} beats |")


if __name__ == "__main__":
    main()
