"""Generate and Regenerate on the Blender side: build the request, apply the result.

The work itself (music analysis, motion sampling) is a worker request (see
``magicdance_core.worker.protocol``): run in-process under ``blender -b`` and
Blender-as-a-module, in the worker subprocess in the GUI.  Nothing in the scene
changes until :func:`apply_generate` / :func:`apply_regenerate` run with the
result, so a cancelled or failed job leaves the scene exactly as it was.

Regenerate: the new take = the active take, with the frame range (and, when
asked, only the chosen bones) replaced by freshly generated motion, cross-faded
over a few frames at the range ends, and every *locked* key of the active take
(see :func:`takes.locked_keys`) written back exactly, with keyframe type
'KEYFRAME' so it stays locked in the next round.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from magicdance_core import FPS
from magicdance_core.body import skeleton
from magicdance_core.body.motion_file import Motion, load_motion, save_motion
from magicdance_core.body.rotations import quat_make_continuous
from magicdance_core.errors import BadInput

from . import music as md_music
from . import takes

KEY_KEYFRAME = 0
FADE_FRAMES = 6


def _tmpdir() -> str:
    d = os.path.join(tempfile.gettempdir(), "magicdance")
    os.makedirs(d, exist_ok=True)
    return d


def _music_path(scene) -> str:
    info = md_music.scene_music(scene)
    if not info or not info.get("path"):
        raise BadInput("import music first (no song in this scene)")
    if not os.path.isfile(info["path"]):
        raise BadInput(f"the scene's music file is gone: {info['path']}")
    return info["path"]


def generate_request(scene, style=None, seed=0, steps=0, generator=None, beat_pulse=None,
                     snap_to_beat=False) -> dict:
    fd, out = tempfile.mkstemp(suffix=".npz", prefix="take_", dir=_tmpdir())
    os.close(fd)
    os.unlink(out)
    return {"op": "generate", "music": _music_path(scene), "out": out, "style": style or None,
            "seed": int(seed), "steps": int(steps) or None, "generator": generator or None,
            "beat_pulse": None if beat_pulse is None else float(beat_pulse), "snap_to_beat": bool(snap_to_beat)}


def run_inprocess(request: dict, progress=None) -> dict:
    """Answer a worker request in this process (``blender -b``, Blender-as-a-module)."""
    from magicdance_core.worker.protocol import OPS

    req = dict(request)
    if req["op"] == "generate":
        # Re-use this session's analysis of the song instead of decoding it again.
        from magicdance_core.worker.protocol import _op_generate

        return _op_generate(req, progress, analysis=md_music.analyze(req["music"], progress=progress))
    return OPS[req["op"]](req, progress)


def _finish_motion(path: str, foot_lock: bool) -> Motion:
    m = load_motion(path)
    try:
        os.unlink(path)
    except OSError:
        pass
    if foot_lock:   # the pipeline's own foot clean-up step once more (feet it left sliding)
        from magicdance_core.motion.cleanup import FootFix, Pinned

        m = FootFix()(m, Pinned.none(m.num_frames))
    return m


def apply_generate(scene, arm, result: dict, foot_lock: bool = False, name=None):
    """Write the generated motion as a new take; returns the Action."""
    m = _finish_motion(result["paths"]["motion"], foot_lock)
    return takes.write_take(arm, m, name=name, frame_start=scene.frame_start)


# ------------------------------------------------------------------ regenerate
def _bone_channels(bones) -> np.ndarray:
    """Channel mask (NUM_CHANNELS,) for the given bone names (pelvis includes the root)."""
    mask = np.zeros(takes.NUM_CHANNELS, bool)
    for c, (path, _i, group) in enumerate(takes.channel_paths()):
        if group in bones:
            mask[c] = True
    return mask


def regenerate_request(scene, arm, frame_start: int, frame_end: int, bones=None,
                       style=None, seed=0, steps=0, generator=None, beat_pulse=None, snap_to_beat=False):
    """(request, plan) for regenerating [frame_start, frame_end] of the active take."""
    act = takes.active_take(arm)
    if act is None:
        raise BadInput("the dancer has no active take to regenerate")
    s, e = takes.take_frame_range(act)
    f0, f1 = max(int(frame_start), s), min(int(frame_end), e)
    if f1 - f0 < 1:
        raise BadInput(f"frame range {frame_start}-{frame_end} does not overlap the take ({s}-{e})")
    bones = [b for b in (bones or []) if b in skeleton.JOINT_NAMES]
    req = generate_request(scene, style=style, seed=seed, steps=steps, generator=generator, beat_pulse=beat_pulse,
                           snap_to_beat=snap_to_beat)
    req["start_s"] = (f0 - scene.frame_start) / FPS
    req["end_s"] = (f1 + 1 - scene.frame_start) / FPS
    locks = takes.locked_keys(act)
    # What the model may use as constraints: the kept part of the take over the range.
    base = takes.read_channels(act, np.arange(f0, f1 + 1))
    ref = takes.channels_to_motion(base)
    lock_mask = np.zeros((f1 - f0 + 1, 24), bool)
    root_mask = np.zeros(f1 - f0 + 1, bool)   # locked pelvis location keys: the root position
    paths = takes.channel_paths()
    for c, keys in locks.items():
        path, _i, group = paths[c]
        if group not in skeleton.JOINT_INDEX:
            continue   # contacts
        for f in keys:
            if f0 <= f <= f1:
                if path.endswith(".location"):
                    root_mask[int(round(f)) - f0] = True
                else:
                    lock_mask[int(round(f)) - f0, skeleton.JOINT_INDEX[group]] = True
    joint_mask = np.array([n not in bones for n in skeleton.JOINT_NAMES]) if bones else np.zeros(24, bool)
    fd, cpath = tempfile.mkstemp(suffix=".npz", prefix="constraints_", dir=_tmpdir())
    os.close(fd)
    save_motion(ref, cpath)
    with np.load(cpath) as z:
        arrays = {k: z[k] for k in z.files}
    with open(cpath, "wb") as f:
        np.savez(f, lock_mask=lock_mask, root_mask=root_mask, joint_mask=joint_mask, edges=np.array([f0 > s, f1 < e]), **arrays)
    req["constraints"] = cpath
    pelvis_kept = bool(joint_mask[skeleton.JOINT_INDEX["pelvis"]])
    plan = {"action": act.name, "f0": f0, "f1": f1, "bones": bones,
            "root_pinned": bool(root_mask.any() or f0 > s or pelvis_kept)}
    return req, plan


def apply_regenerate(scene, arm, result: dict, plan: dict, foot_lock: bool = False, name=None):
    """Merge the regenerated range into a copy of the take; returns the new Action."""
    import bpy

    act = bpy.data.actions.get(plan["action"])
    if act is None:
        raise BadInput(f"the take {plan['action']} was removed while regenerating")
    new = _finish_motion(result["paths"]["motion"], foot_lock)
    s, e = takes.take_frame_range(act)
    frames = np.arange(s, e + 1)
    vals = takes.read_channels(act, frames)
    old_all = vals.copy()
    f0, f1 = plan["f0"], plan["f1"]
    n = f1 - f0 + 1
    newv = takes.motion_channels(new)
    if len(newv) < n:   # generator gave a frame less: hold the last one
        newv = np.concatenate([newv, np.repeat(newv[-1:], n - len(newv), 0)])
    newv = newv[:n]
    i0 = f0 - s
    old = vals[i0:i0 + n]
    # Same quaternion hemisphere as the take at the range start, continuous after.
    q_old = old[:, :96].reshape(n, 24, 4)
    q_new = newv[:, :96].reshape(n, 24, 4)
    flip = np.sum(q_new[0] * q_old[0], -1) < 0
    q_new[:, flip] *= -1
    q_new = quat_make_continuous(q_new, axis=0)
    newv[:, :96] = q_new.reshape(n, 96)
    # Keep the dancer where the take has them: shift the new root horizontally — unless the
    # dance was made to pass through locked pelvis positions (or the take's own at the range
    # start), which a shift would move away from.
    if not plan.get("root_pinned", False):
        newv[:, 96] += old[0, 96] - newv[0, 96]
        newv[:, 98] += old[0, 98] - newv[0, 98]
    chan = _bone_channels(plan["bones"]) if plan["bones"] else np.ones(takes.NUM_CHANNELS, bool)
    k = min(FADE_FRAMES, n // 4)
    w = np.ones(n)
    if k > 0:
        ramp = (np.arange(k) + 1) / (k + 1)
        if f0 > s:
            w[:k] = ramp
        if f1 < e:
            w[-k:] = np.minimum(w[-k:], ramp[::-1])
    blend = old + (newv - old) * w[:, None]
    q = blend[:, :96].reshape(n, 24, 4)
    blend[:, :96] = (q / np.linalg.norm(q, axis=-1, keepdims=True)).reshape(n, 96)
    vals[i0:i0 + n, chan] = blend[:, chan]
    # Locked keys, exactly (float32 as stored), typed 'KEYFRAME'.
    types = np.full(vals.shape, takes.KEY_GENERATED, np.int32)
    locks = takes.locked_keys(act)
    lock_by_prop: dict = {}
    for c, keys in locks.items():
        path = takes.channel_paths()[c][0]
        for f in keys:
            lock_by_prop.setdefault(path, set()).add(f)
    for c, (path, _i, _g) in enumerate(takes.channel_paths()):
        for f in lock_by_prop.get(path, ()):
            fi = int(round(f)) - s
            if 0 <= fi < len(frames) and abs(f - round(f)) < 1e-4:
                vals[fi, c] = old_all[fi, c]
                types[fi, c] = KEY_KEYFRAME
    merged = takes.channels_to_motion(vals, fps=float(act.get("md_fps", FPS)),
                                      meta={**new.meta, "regenerated_from": act.name, "range": [f0, f1]})
    return takes.write_take(arm, merged, name=name, frame_start=s, values=vals, key_types=types)
