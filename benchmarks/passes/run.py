"""Guidance-pass benchmark: 900 frames (30 s) at 512x512, every pass, plus the engine comparison.

    .venv/bin/python benchmarks/passes/run.py [--frames 900] [--size 512] [--motion DANCE.npz]
                                              [--workbench-frames 60] [--out /tmp/md_passes_bench]

Prints a JSON summary (and writes it to OUT/summary.json). Wall-clock numbers depend on
what else the machine runs: the load average before and after is recorded with them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def synthetic_dance(T: int):
    """A 30 fps procedural dance: arm swings, knee bounces, a slow full turn, side steps."""
    from magicdance_core.body.motion_file import Motion
    from magicdance_core.body.skeleton import JOINT_INDEX as J, REST_PELVIS_HEIGHT

    t = np.arange(T) / 30.0
    beat = 2 * np.pi * 2.0 * t     # 120 BPM
    poses = np.zeros((T, 24, 3))
    poses[:, J["left_shoulder"], 2] = -1.0 + 0.6 * np.sin(beat)
    poses[:, J["right_shoulder"], 2] = 1.0 + 0.6 * np.sin(beat + np.pi)
    poses[:, J["left_elbow"], 1] = 0.8 + 0.6 * np.sin(beat / 2)
    poses[:, J["right_elbow"], 1] = -0.8 - 0.6 * np.sin(beat / 2)
    poses[:, J["left_hip"], 0] = -0.3 * np.clip(np.sin(beat), 0, None)
    poses[:, J["left_knee"], 0] = 0.6 * np.clip(np.sin(beat), 0, None)
    poses[:, J["right_hip"], 0] = -0.3 * np.clip(np.sin(beat + np.pi), 0, None)
    poses[:, J["right_knee"], 0] = 0.6 * np.clip(np.sin(beat + np.pi), 0, None)
    poses[:, J["spine2"], 2] = 0.15 * np.sin(beat / 2)
    poses[:, J["head"], 1] = 0.3 * np.sin(beat / 4)
    poses[:, 0, 1] = 0.6 * np.sin(2 * np.pi * t / 15.0)  # the body turns left and right
    trans = np.zeros((T, 3))
    trans[:, 1] = REST_PELVIS_HEIGHT - 0.04 * np.abs(np.sin(beat))
    trans[:, 0] = 0.5 * np.sin(2 * np.pi * t / 8.0)
    return Motion(poses=poses, trans=trans)


def _load():
    return os.getloadavg()[0]


def _cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=900)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--motion", default=None)
    ap.add_argument("--workbench-frames", type=int, default=60)
    ap.add_argument("--out", default="/tmp/md_passes_bench")
    ap.add_argument("--only-workbench", action="store_true", help="just the engine comparison")
    args = ap.parse_args()
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)

    from magicdance_core.body.builtin_mesh import build_builtin_body, skin
    from magicdance_core.body.fk import forward_kinematics_matrices
    from magicdance_core.body.motion_file import load_motion
    from magicdance_core.body.rotations import axis_angle_to_matrix
    from magicdance_core.camera import frame_motion
    from magicdance_core.passes.api import render_motion_passes
    from magicdance_core.passes.render import PassRenderer

    motion = load_motion(args.motion) if args.motion else synthetic_dance(args.frames)
    body = build_builtin_body()
    S = args.size
    res = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
           "frames": motion.num_frames, "size": S, "mesh_faces": int(len(body.faces))}

    # warm-up: numba kernels load from their cache (or compile once)
    render_motion_passes(motion.slice(0, 3), out / "warm", size=64, body=body, video=False)

    pos, rot = forward_kinematics_matrices(axis_angle_to_matrix(motion.poses), motion.trans)
    cam = frame_motion(pos, S, S)
    if args.only_workbench:
        res["workbench"] = workbench(motion, body, cam, out, args.workbench_frames)
        print(json.dumps(res, indent=1))
        return 0

    # 1. every pass, PNG sequences + MP4s
    la0, c0, t0 = _load(), _cpu(), time.perf_counter()
    render_motion_passes(motion, out / "all", size=S, body=body)
    res["all_passes"] = dict(wall_s=round(time.perf_counter() - t0, 1), cpu_s=round(_cpu() - c0, 1),
                             load_before=round(la0, 2), load_after=round(_load(), 2))

    # 2. DensePose-style: rendering alone, then with its PNG sequence + MP4
    pr = PassRenderer(body.faces, body.face_parts, body.uv, cam, rest_vertices=body.vertices)
    n = min(300, motion.num_frames)
    V = skin(body, motion.poses[:n], motion.trans[:n])
    t0 = time.perf_counter()
    for i in range(n):
        pr.render(V[i], pos[i], rot[i], ("densepose",))
    res["densepose_render_fps"] = round(n / (time.perf_counter() - t0), 1)
    t0 = time.perf_counter()
    r = render_motion_passes(motion, out / "dp", size=S, body=body, passes="densepose")
    res["densepose_with_files_fps"] = round(r.frames / (time.perf_counter() - t0), 1)
    t0 = time.perf_counter()
    for i in range(n):
        pr.render(V[i], pos[i], rot[i])
    res["all_passes_render_only_ms_per_frame"] = round(1000 * (time.perf_counter() - t0) / n, 1)

    # 3. engine comparison: Workbench (Blender) for the DensePose-style pass
    try:
        res["workbench"] = workbench(motion, body, cam, out, args.workbench_frames)
    except Exception as e:  # bpy missing or no GL context: say so in the summary
        res["workbench"] = {"error": f"{type(e).__name__}: {e}"}
    (out / "summary.json").write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))
    return 0


def workbench(motion, body, cam, out, n):
    import bpy
    import cv2

    from magicdance_core.passes import colors as C

    sys.path.insert(0, str(ROOT))
    from blender_addon import passes as bp
    from blender_addon.dancer import add_dancer
    from blender_addon.takes import write_take

    m = motion.slice(0, n)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps = 30
    arm = add_dancer(scene)
    write_take(arm, m)
    scene.frame_start, scene.frame_end = 1, n
    t0 = time.perf_counter()
    bp.render_densepose_workbench(scene, out / "wb_first", cam, [1])
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    paths = bp.render_densepose_workbench(scene, out / "wb", cam, range(1, n + 1))
    wb_s = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    from magicdance_core.passes.api import render_motion_passes

    # the same camera for both engines (the scene's take == the motion, see tests)
    render_motion_passes(m, out / "np", camera=cam, passes="densepose", video=False, body=body)
    np_s = (time.perf_counter() - t0) / n
    table = set(map(tuple, C.DENSEPOSE_COLORS))
    diff, nontable = [], 0
    for i, p in enumerate(paths):
        w = cv2.imread(p)[..., ::-1]
        a = cv2.imread(str(out / "np" / "densepose" / f"{i:06d}.png"))[..., ::-1]
        nontable += len(set(map(tuple, np.unique(w.reshape(-1, 3), axis=0))) - table)
        diff.append(int(np.any(w != a, -1).sum()))
    return dict(frames=n, first_frame_s=round(first, 2), workbench_s_per_frame=round(wb_s, 3),
                workbench_fps=round(1 / wb_s, 1), raster_s_per_frame_with_png=round(np_s, 3),
                raster_fps_with_png=round(1 / np_s, 1), non_table_colours=nontable,
                differing_pixels_per_frame_mean=round(float(np.mean(diff)), 2),
                differing_pixels_per_frame_max=int(np.max(diff)))


if __name__ == "__main__":
    sys.exit(main())
