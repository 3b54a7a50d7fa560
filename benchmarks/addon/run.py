"""Add-on benchmarks (Blender-as-a-module, in-process).

1. Writing a take: 30 s (900 frames x 24 bones + root + contacts) and 5 minutes (9000 frames).
2. Regenerating a 5 s range of a take vs generating 5 s of dance (same generator, same song).

    .venv/bin/python benchmarks/addon/run.py [--song examples/song.ogg] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def _motion(T, seed=0):
    from magicdance_core.body.motion_file import Motion

    rng = np.random.default_rng(seed)
    poses = np.cumsum(rng.normal(0, 0.02, (T, 24, 3)), 0)
    poses = 0.6 * np.sin(poses)
    trans = np.cumsum(rng.normal(0, 0.005, (T, 3)), 0) + [0, 0.97, 0]
    return Motion(poses, trans, (rng.random((T, 4)) > 0.5).astype(np.float32))


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), float(np.median(times))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--song", default=str(ROOT / "examples" / "song.ogg"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    import bpy

    from blender_addon import dancer, generation, music, takes

    bpy.ops.wm.read_factory_settings(use_empty=True)
    sc = bpy.context.scene
    arm = dancer.add_dancer(sc)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Blender {bpy.app.version_string}, Python {platform.python_version()}")
    for label, T in (("30 s take (900 frames)", 900), ("5 min take (9000 frames)", 9000)):
        m = _motion(T)
        b, med = best(lambda: takes.write_take(arm, m), args.repeat)
        print(f"write {label}: best {b:.3f} s, median {med:.3f} s "
              f"({24 * 4 + 3 + 4} F-curves, {T * 103} keys)")
    # Regenerate 5 s vs generate 5 s.
    bpy.ops.wm.read_factory_settings(use_empty=True)
    sc = bpy.context.scene
    t0 = time.perf_counter()
    a = music.import_music(sc, args.song)
    print(f"import music ({a.duration_s:.1f} s song, analysis incl.): {time.perf_counter() - t0:.2f} s")
    arm = dancer.add_dancer(sc)
    req = generation.generate_request(sc, seed=1)
    t0 = time.perf_counter()
    act = generation.apply_generate(sc, arm, generation.run_inprocess(req))
    print(f"generate whole song ({a.duration_s:.1f} s) + write take: {time.perf_counter() - t0:.2f} s")
    from magicdance_core.worker.generate import generate_motion

    gen5 = best(lambda: generate_motion(a, seed=2, start_s=5.0, end_s=10.0), args.repeat)
    print(f"generate 5 s (core only): best {gen5[0]:.3f} s, median {gen5[1]:.3f} s")
    f0 = sc.frame_start + 150

    def regen():
        r, plan = generation.regenerate_request(sc, arm, f0, f0 + 149, seed=2)
        generation.apply_regenerate(sc, arm, generation.run_inprocess(r), plan)
        takes.set_active_take(arm, act)

    reg = best(regen, args.repeat)
    print(f"regenerate 5 s range (request + generate + merge + new take): best {reg[0]:.3f} s, "
          f"median {reg[1]:.3f} s; overhead over generating 5 s: {reg[0] - gen5[0]:+.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
