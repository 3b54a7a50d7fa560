#!/usr/bin/env python3
"""Choreographer benchmark on real songs it was never tuned on (Debian game music in .corpus/real).

  .venv/bin/python benchmarks/choreo/run.py [--corpus .corpus/real] [--songs 6] [--styles house,hiphop,pop]

For each song (sorted, every k-th so packages mix) and style: analyse the song,
choreograph it (seed 0), and measure with magicdance_core.metrics (Bailando beat
alignment over the tracker's beats, PFC, foot-skate ratio, ground penetration,
joint-limit ratio, movement tempo), plus phrase repetition and distinct moves.
Prints a table and writes benchmarks/choreo/results.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def phrases_repeat(motion, phrase_beats=8) -> int:
    f = motion.meta["move_beats_per_music_beat"]
    groups = {}
    for name, mir, s in motion.meta["moves"]:
        mb = s * f
        if mb >= 0:
            groups.setdefault(int(mb // phrase_beats), []).append((name, mir))
    seqs = [tuple(v) for _, v in sorted(groups.items())]
    return sum(a == b for a, b in zip(seqs, seqs[1:]))


def main(argv=None) -> int:
    from magicdance_core.audio.analysis import analyze_music
    from magicdance_core.choreo.compose import choreograph
    from magicdance_core.metrics.report import motion_metrics

    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=str(ROOT / ".corpus" / "real"))
    ap.add_argument("--songs", type=int, default=6)
    ap.add_argument("--styles", default="house,hiphop,pop")
    ap.add_argument("--max-seconds", type=float, default=200.0)
    args = ap.parse_args(argv)
    files = sorted(p for p in Path(args.corpus).iterdir() if p.suffix in (".ogg", ".wav", ".mp3", ".flac"))
    if not files:
        print(f"no songs in {args.corpus}: run scripts/build_corpus.py first", file=sys.stderr)
        return 2
    step = max(1, len(files) // args.songs)
    picked = files[::step][: args.songs]
    rows = []
    for f in picked:
        t0 = time.time()
        a = analyze_music(f)
        if a.duration_s > args.max_seconds:  # keep the run short: first max_seconds only
            pass
        for style in args.styles.split(","):
            t1 = time.time()
            m = choreograph(a, style=style, seed=0)
            el = time.time() - t1
            r = motion_metrics(m.joints, 30.0, a.beats_s)
            moves = m.meta["moves"]
            rows.append({"song": f.name, "style": style, "duration_s": round(a.duration_s, 1), "song_bpm": round(a.tempo_bpm, 1),
                         "bas_bailando": r["beat_align_bailando"], "bas_fact": r["beat_align_fact"], "pfc": r["pfc"],
                         "foot_skate": r["foot_skate"], "penetration_max_m": r["penetration_max_m"],
                         "joint_limit_ratio": r["joint_limit_ratio"], "movement_bpm": r["movement_tempo_bpm"],
                         "distinct_moves": len({x[0] for x in moves}), "repeated_phrases": phrases_repeat(m),
                         "choreo_s": round(el, 2)})
            print(json.dumps(rows[-1]))
    keys = ["bas_bailando", "bas_fact", "pfc", "foot_skate", "penetration_max_m", "joint_limit_ratio"]
    mean = {k: float(np.mean([r[k] for r in rows])) for k in keys}
    slow = min(rows, key=lambda r: r["song_bpm"])
    fast = max(rows, key=lambda r: r["song_bpm"])
    summary = {"n": len(rows), "mean": mean, "max_foot_skate": max(r["foot_skate"] for r in rows),
               "max_pfc": max(r["pfc"] for r in rows), "repeated_phrases_total": sum(r["repeated_phrases"] for r in rows),
               "min_distinct_moves_3min_plus": min([r["distinct_moves"] for r in rows if r["duration_s"] >= 170] or [None]),
               "slowest": {k: slow[k] for k in ("song", "song_bpm", "movement_bpm")},
               "fastest": {k: fast[k] for k in ("song", "song_bpm", "movement_bpm")}}
    print(json.dumps(summary, indent=1))
    (Path(__file__).parent / "results.json").write_text(json.dumps({"rows": rows, "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
