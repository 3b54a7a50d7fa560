"""Benchmark of the main job: end-to-end time, animator speed, and quality (quality.py).

Run from the repository root:  .venv/bin/python benchmarks/dance/run.py [--photo P ...] [--seconds S]
Prints a table and writes benchmarks/dance/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np  # noqa: E402

import quality as Q  # noqa: E402


def one(music, photo, work: Path, size: int, full: bool) -> dict:
    from magicdance_core.animate.base import AnimateOptions
    from magicdance_core.animate.dancer import dancer_from_motion
    from magicdance_core.animate.puppet import PuppetAnimator, SMPL_OF, _pick, retarget
    from magicdance_core.audio.analysis import MusicAnalysis
    from magicdance_core.body.motion_file import load_motion
    from magicdance_core.jobs.pipeline import DanceOptions, run_dance
    from magicdance_core.photo.analyze import PhotoAnalysis
    from magicdance_core.video.reader import read_frames

    out = work / f"{Path(photo).stem}.mp4"
    opt = DanceOptions(size=size) if full else DanceOptions(size=size, scene=False, passes="")
    t0 = time.monotonic()
    res = run_dance(music, photo, out, opt)
    wall = time.monotonic() - t0
    job = res.job
    pa = PhotoAnalysis.load(job / "photo")
    motion = load_motion(job / "motion.npz")
    an = PuppetAnimator()
    rig = an.prepare(pa, AnimateOptions(size))
    dancer = dancer_from_motion(motion, pa)
    targets, _ = retarget(rig, dancer)
    s = dancer.focal_px / np.maximum(_pick(dancer.depth[..., None], SMPL_OF)[:, 0, 0], 1e-3)
    zooms = s / s[0]
    # animator alone
    t1 = time.monotonic()
    n = 0
    for _ in an.animate(rig, dancer, AnimateOptions(size)):
        n += 1
        if n == 300:
            break
    fps = n / (time.monotonic() - t1)
    frames = np.array(list(read_frames(out)))
    T = min(len(frames), len(targets))
    frames, targets, zooms = frames[:T], targets[:T], zooms[:T]
    idx, pts, vis = Q.redetect(frames)
    pck, n_pck = Q.pck(targets, idx, pts, vis, size)
    pck_arms, _ = Q.pck(targets, idx, pts, vis, size, joints=[8, 9, 10, 11, 12, 13])
    # independent frames (no tracking), every 5th: what an evaluator running Pose per image sees
    si, sp, sv = Q.redetect(frames[::5], static=True)
    pck_static, n_static = Q.pck(targets[::5], si, sp, sv, size)
    beats = MusicAnalysis.from_json(job / "music.json").beats_s
    kin = Q.kinematic_beats(idx, pts, vis, motion.fps)
    bmean, bmed = Q.beat_distances(kin, beats)
    ss = Q.face_ssim(rig, pa, frames, targets, zooms)
    fl_mean, fl_p99, fl_area = Q.background_flicker(frames, np.clip(rig.background + 0.5, 0, 255).astype(np.uint8))
    return dict(photo=Path(photo).name, frames=int(T), end_to_end_s=round(wall, 1), stage_s=res.seconds,
                animator_fps=round(fps, 1), pck_torso_0_1=round(pck, 3), pck_pairs=n_pck,
                pck_arms=round(pck_arms, 3), pck_static_every5=round(pck_static, 3), pck_static_pairs=n_static,
                kinematic_beats=int(len(kin)), beat_dist_mean_s=round(bmean, 3), beat_dist_median_s=round(bmed, 3),
                music_beat_period_s=round(float(np.median(np.diff(beats))), 3) if len(beats) > 1 else None,
                face_ssim_mean=round(float(np.mean(ss)), 3) if ss else None,
                face_ssim_min=round(float(np.min(ss)), 3) if ss else None, face_frames=len(ss),
                bg_std_mean=round(fl_mean, 3), bg_std_p99=round(fl_p99, 3), bg_area=round(fl_area, 3))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--music", default=str(ROOT / "examples/song.ogg"))
    ap.add_argument("--photo", nargs="*", default=[str(ROOT / "examples/astronaut.jpg"), str(ROOT / "examples/fireman.png"),
                                                   str(ROOT / "examples/mannequin.png")])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--fast", action="store_true", help="skip the scene and passes stages")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, p in enumerate(args.photo):
            rows.append(one(args.music, p, Path(tmp), args.size, full=not args.fast))
            print(json.dumps(rows[-1]), flush=True)
    # rows of photos not run this time are kept (one photo can be re-measured alone)
    res = Path(__file__).parent / "results.json"
    old = json.loads(res.read_text()).get("rows", []) if res.exists() else []
    ran = {r["photo"] for r in rows}
    rows = [r for r in old if r.get("photo") not in ran] + rows
    info = dict(machine=platform.processor() or platform.machine(), cpus=os.cpu_count(), rows=rows)
    res.write_text(json.dumps(info, indent=1))


if __name__ == "__main__":
    main()
