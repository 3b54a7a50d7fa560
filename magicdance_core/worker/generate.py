"""Run the dance pipeline for the add-on and the worker: whole song or a time range, and the
editing constraints built from the animator's locked keys."""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from ..body.motion_file import Motion
from ..errors import BadInput


def load_analysis(music, progress=None):
    """A MusicAnalysis from a song path (analysed now), a music.json, or an analysis (as is)."""
    if hasattr(music, "beats_s"):
        return music
    from ..audio.analysis import MusicAnalysis, analyze_music

    if str(music).lower().endswith(".json"):   # a music.json written by analyze (features beside it)
        return MusicAnalysis.from_json(music)
    return analyze_music(music, progress=progress)


def slice_analysis(a, start_s: float, end_s: float):
    """The analysis of the part [start_s, end_s) of the song, times shifted to start at 0."""
    fps = int(a.fps)
    f0 = max(0, int(round(start_s * fps)))
    f1 = min(int(a.n_frames), int(round(end_s * fps)))
    if f1 <= f0:
        raise BadInput(f"empty time range {start_s:.2f}-{end_s:.2f} s")
    t0 = f0 / fps

    def cut(x):
        x = np.asarray(x)
        return x[f0:f1] if x.ndim >= 1 and len(x) >= f1 else x

    def shift(b):
        b = np.asarray(b, float)
        return b[(b >= t0) & (b < f1 / fps)] - t0

    changes = {k: cut(getattr(a, k)) for k in ("onset_env", "rms", "edge35", "beat_onehot", "downbeat_onehot")
               if hasattr(a, k)}
    return dataclasses.replace(a, duration_s=(f1 - f0) / fps, beats_s=shift(a.beats_s),
                               downbeats_s=shift(a.downbeats_s), **changes)


def generate_motion(music, *, style: Optional[str] = None, seed: int = 0, steps: Optional[int] = None,
                    constraints=None, start_s: Optional[float] = None, end_s: Optional[float] = None,
                    generator: Optional[str] = None, beat_pulse: Optional[float] = None,
                    cleanup: Optional[str] = None, snap_to_beat: bool = False, progress=None) -> Motion:
    """A Motion for ``music`` (path or MusicAnalysis), optionally for a time range only, from the
    same :class:`~magicdance_core.motion.pipeline.DancePipeline` as the CLI and the dance job.

    ``generator``: "model" or "choreo" (None = the model); ``snap_to_beat``: retime the dance onto
    the beats (beat sync, with ``beat_pulse``; None = the checkpoint's pulse);
    ``cleanup``: the clean-up preset (None = "default")."""
    from ..motion.pipeline import DancePipeline

    pipe = DancePipeline.from_pretrained(generator=generator or "model")
    # checked before the song is analysed (one line naming the request key)
    beat_sync = 1.0 if snap_to_beat else None
    pipe.check_inputs(style=style, seed=seed, cleanup=cleanup, steps=steps, beat_pulse=beat_pulse, beat_sync=beat_sync,
                      name=lambda k: f"'{k}'")
    analysis = load_analysis(music, progress=progress)
    if start_s is not None or end_s is not None:
        analysis = slice_analysis(analysis, start_s or 0.0, analysis.duration_s if end_s is None else end_s)
    return pipe(analysis, style=style, seed=int(seed), steps=steps, constraints=constraints, cleanup=cleanup,
                beat_pulse=beat_pulse, beat_sync=beat_sync, progress=progress)


def build_constraints(reference: Motion, lock_mask: np.ndarray, joint_mask: np.ndarray, edges=(False, False),
                      root_mask: Optional[np.ndarray] = None):
    """Editing constraints for the pipeline (``motion.constraints.Constraints``), or None.

    reference: the take over the regenerated range; lock_mask (T,24): joints whose rotation has a
    locked key at a frame; root_mask (T,): frames with a locked pelvis location key (the root
    position: the dance passes through where the animator put the pelvis); joint_mask (24,):
    joints to keep on every frame (the unselected bones when only some are regenerated; a kept
    pelvis keeps its path too); edges: (start, end) — pin the range's first/last frames (pose and
    root position) to the take so the dance joins it seamlessly. The Blender side re-applies
    locked keys exactly in every case.
    """
    from ..body.skeleton import JOINT_INDEX, JOINT_NAMES
    from ..motion.constraints import Constraints

    T = reference.num_frames
    cons = Constraints(T)
    lock_mask = np.asarray(lock_mask, bool).reshape(T, 24)
    for f in np.nonzero(lock_mask.any(1))[0]:
        cons.add_joints([JOINT_NAMES[j] for j in np.nonzero(lock_mask[f])[0]], reference, frames=[int(f)])
    root = np.zeros(T, bool) if root_mask is None else np.asarray(root_mask, bool).reshape(T).copy()
    kept = [JOINT_NAMES[j] for j in np.nonzero(np.asarray(joint_mask, bool))[0]]
    if kept:
        cons.add_joints(kept, reference)
        if JOINT_INDEX["pelvis"] in np.nonzero(np.asarray(joint_mask, bool))[0]:
            root[:] = True
    k = min(2, T)
    if edges[0]:
        cons.add_joints(list(JOINT_NAMES), reference, frames=list(range(k)))
        root[:k] = True
    if edges[1]:
        cons.add_joints(list(JOINT_NAMES), reference, frames=list(range(T - k, T)))
        root[T - k:] = True
    if root.any():
        cons.add_root_trajectory(reference.trans, frames=np.flatnonzero(root))
    return None if cons.empty else cons
