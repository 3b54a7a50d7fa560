"""Measure how closely Blender's own BVH importer reproduces our joints, and conversion speed.

Run: .venv/bin/python benchmarks/body/bvh_blender.py
"""

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from magicdance_core.body import aist, bvh  # noqa: E402
from magicdance_core.body.ground import floor_shift  # noqa: E402
from magicdance_core.body.motion_file import Motion, load_motion, save_motion  # noqa: E402
from magicdance_core.body.skeleton import JOINT_NAMES  # noqa: E402


def dance(T=900, seed=0):
    """30 s of smooth, large random motion (every joint, up to ~1.5 rad)."""
    rng = np.random.default_rng(seed)
    t = np.arange(T)[:, None, None] / 30.0
    poses = rng.uniform(0.2, 1.5, (1, 24, 3)) * np.sin(2 * np.pi * rng.uniform(0.2, 2, (1, 24, 3)) * t
                                                        + rng.uniform(0, 6, (1, 24, 3)))
    tt = t[:, 0, 0]
    trans = np.stack([np.sin(tt), 0.95 + 0.1 * np.sin(3 * tt), 0.3 * tt], -1)
    m = Motion(poses, trans)
    m.trans[:, 1] += floor_shift(m.joints)  # stand on the floor, as every imported clip does
    m.recompute_joints()
    return m


def main():
    import bpy
    from bpy_extras.io_utils import axis_conversion

    m = dance()
    tmp = Path(tempfile.mkdtemp())
    for units, order, scale in (("cm", "ZXY", 0.01), ("m", "XYZ", 1.0)):
        f = tmp / f"d_{units}.bvh"
        t0 = time.perf_counter()
        bvh.write_bvh(m, f, units=units, order=order)
        t_write = time.perf_counter() - t0
        t0 = time.perf_counter()
        back = bvh.read_bvh(f)
        t_read = time.perf_counter() - t0
        ours = np.abs(back.joints - m.joints).max()
        bpy.ops.wm.read_factory_settings(use_empty=True)
        bpy.ops.import_anim.bvh(filepath=str(f), global_scale=scale, update_scene_duration=True)
        arm = bpy.context.object
        conv = np.array(axis_conversion(from_forward="-Z", from_up="Y").to_3x3())
        err = []
        for t in range(0, m.num_frames, 10):
            bpy.context.scene.frame_set(t + 1)
            heads = np.array([(arm.matrix_world @ arm.pose.bones[n].head)[:] for n in JOINT_NAMES])
            err.append(np.abs(heads - m.joints[t] @ conv.T).max())
        print(f"BVH {units}/{order}: {m.num_frames} frames; write {t_write*1000:.0f} ms, read {t_read*1000:.0f} ms; "
              f"our reader max joint error {ours*1000:.4f} mm; Blender importer max error over "
              f"{len(err)} frames {max(err)*1000:.4f} mm")
    f = tmp / "a.pkl"
    t0 = time.perf_counter()
    aist.write_aist(m, f, fps=60)
    back = aist.read_aist(f)
    dt = time.perf_counter() - t0
    print(f"AIST++ 30->60->30 fps round trip: {dt*1000:.0f} ms, max joint error "
          f"{np.abs(back.joints - m.joints).max()*1000:.4f} mm")
    f = tmp / "m.npz"
    save_motion(m, f)
    t0 = time.perf_counter()
    load_motion(f)
    print(f"npz load {m.num_frames} frames: {(time.perf_counter()-t0)*1000:.1f} ms")


if __name__ == "__main__":
    main()
