"""How long a user waits for a dance: fresh processes, this checkout beside a previous release.

Per round (rounds alternate the two trees so machine load hits both alike):
- ``motion``: a fresh ``magicdance motion SONG -o x.npz`` (wall clock, whole process);
- ``analyze``: a fresh ``magicdance analyze SONG --json music.json`` (the dance job's analyze stage);
and once, in this checkout, the warm path the add-on's worker takes (model loaded, librosa
imported): analysing a new song, and sampling + clean-up of its dance.

    .venv/bin/python benchmarks/motion/startup.py --previous 41a98ae 01a34e6~1 --rounds 5 \\
        --out benchmarks/motion/startup.json

``01a34e6~1`` is this code just before the song was analysed beside the model loading. Each previous
release is exported with ``git archive`` and run with ``python -m
magicdance_core.cli`` from its own tree (same venv). The song defaults to examples/song.ogg
(30.5 s). Numba's on-disk cache is warmed by one untimed run of each tree first, as a user's
second run would find it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def timed(cmd, env, cwd) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def warm_path(song: str) -> dict:
    """Seconds in one warm process: a new song's analysis, then its dance (the worker's path)."""
    sys.path.insert(0, str(ROOT))
    from magicdance_core.motion.pipeline import DancePipeline, load_analysis

    pipe = DancePipeline.from_pretrained()
    load_analysis(song)   # librosa imported, numba kernels loaded
    t0 = time.perf_counter()
    a = load_analysis(song)
    t1 = time.perf_counter()
    pipe(a, seed=0)
    t2 = time.perf_counter()
    return {"analysis_s": t1 - t0, "dance_s": t2 - t1, "total_s": t2 - t0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--song", default=str(ROOT / "examples" / "song.ogg"))
    ap.add_argument("--previous", nargs="*", default=[], metavar="REV",
                    help="git revisions of earlier releases, each timed beside this checkout")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="md_startup_") as tmp:
        trees = {"this checkout": ROOT}
        for rev in args.previous:
            old = Path(tmp) / rev
            old.mkdir()
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "magicdance_core"],
                                     check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
            trees[f"previous release {rev}"] = old
        out_npz, out_json = str(Path(tmp) / "x.npz"), str(Path(tmp) / "music.json")
        cmds = {"motion": ["motion", args.song, "-o", out_npz], "analyze": ["analyze", args.song, "--json", out_json]}
        times = {t: {c: [] for c in cmds} for t in trees}
        for r in range(args.rounds + 1):   # round 0 warms the caches, untimed
            for name, tree in trees.items():
                env = dict(os.environ, PYTHONPATH=str(tree))
                for c, argv in cmds.items():
                    # cwd outside every tree: "-m" puts the working folder first on sys.path
                    s = timed([sys.executable, "-m", "magicdance_core.cli", *argv], env, cwd=tmp)
                    for f in (out_npz, out_json):
                        Path(f).unlink(missing_ok=True)
                    if r:
                        times[name][c].append(s)
            if r:
                print(f"round {r}: " + ", ".join(f"{n} {c} {times[n][c][-1]:.2f} s" for n in trees for c in cmds),
                      flush=True)
    warm = warm_path(args.song)
    summary = {n: {c: {"median_s": float(np.median(v)), "worst_s": float(np.max(v)), "all_s": v}
                   for c, v in per.items()} for n, per in times.items()}
    result = {"song": Path(args.song).name, "rounds": args.rounds, "cpu_count": os.cpu_count(),
              "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
              "fresh_process": summary, "warm_process_this_checkout": warm}
    print(json.dumps(result, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
